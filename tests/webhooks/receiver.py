"""A webhook receiver for tests: a real HTTP server on a free loopback port.

It checks every request's signature with the ``standardwebhooks`` package, as a user's
receiver would, and records what came. It can answer errors for a while, hold a request
open, or redirect, to exercise the sender.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import standardwebhooks.webhooks as standard
from standardwebhooks import Webhook, WebhookVerificationError

from keyhive import FrozenClock


@dataclass(frozen=True)
class Received:
    """One request that arrived (verified or not)."""

    webhook_id: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    path: str

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    @property
    def type(self) -> str:
        return str(self.payload["type"])


class Receiver:
    """Collects deliveries; ``secret`` must be set (after the webhook is created) to verify."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.received: list[Received] = []
        self.fail = 0  # answer 500 to this many requests, then 200
        self.status = 200
        self.body = b"ok"
        self.hold: threading.Event | None = None  # set: requests wait for it to be set
        self.arrived = threading.Event()
        self.delay = 0.0
        self.in_flight: dict[str, int] = {}
        self.overlaps: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver._take(headers, body, self.path)
                try:
                    self.send_response(status)
                    if status in (301, 302, 307, 308):
                        self.send_header("Location", "/redirected")
                    self.send_header("Content-Length", str(len(receiver.body)))
                    self.end_headers()
                    self.wfile.write(receiver.body)
                except OSError:
                    pass  # the sender went away (killed, or timed out)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _take(self, headers: dict[str, str], body: bytes, path: str) -> int:
        ident = headers.get("webhook-id", "")
        with self._lock:
            if self.in_flight.get(ident):
                self.overlaps.append(ident)
            self.in_flight[ident] = self.in_flight.get(ident, 0) + 1
        try:
            verified = False
            if self.secret is not None:
                try:
                    Webhook(self.secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    verified = False
            with self._lock:
                self.received.append(Received(ident, headers, body, verified, path))
            self.arrived.set()
            if self.hold is not None:
                self.hold.wait(30)
            if self.delay:
                time.sleep(self.delay)
            if not verified:
                return 400
            with self._lock:
                if self.fail > 0:
                    self.fail -= 1
                    return 500
            return self.status
        finally:
            with self._lock:
                self.in_flight[ident] -= 1

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self._server.shutdown()
        self._server.server_close()

    # -- what came ---------------------------------------------------------------------------
    @property
    def verified(self) -> list[Received]:
        return [r for r in self.received if r.verified]

    def types(self) -> list[str]:
        return [r.type for r in self.verified]

    def first_of_each(self) -> list[Received]:
        """Each delivery id once, in the order they first arrived."""
        seen: dict[str, Received] = {}
        for item in self.verified:
            seen.setdefault(item.webhook_id, item)
        return list(seen.values())

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Wait until ``count`` distinct delivery ids arrived verified."""
        deadline = time.monotonic() + timeout
        while len(self.first_of_each()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.first_of_each())} of {count} deliveries came")
            time.sleep(0.05)
        return self.first_of_each()


@contextlib.contextmanager
def verifying_at(clock: FrozenClock) -> Iterator[None]:
    """standardwebhooks checks the timestamp against the wall clock (5 minutes either
    way); while a test moves a FrozenClock by days, it reads that clock instead."""

    class ClockTime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> ClockTime:  # type: ignore[override]
            moment = clock.now().astimezone(tz or UTC)
            return cls.fromtimestamp(moment.timestamp(), tz or UTC)

    saved = standard.datetime
    standard.datetime = ClockTime  # type: ignore[misc]
    try:
        yield
    finally:
        standard.datetime = saved  # type: ignore[misc]
