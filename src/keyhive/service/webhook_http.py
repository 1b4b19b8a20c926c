"""Sending one webhook request: where it may go, how it is signed, how long it may take.

Targets (the SSRF guard): a host is resolved and every address it resolves to must be a
global unicast address, unless KEYHIVE_WEBHOOK_ALLOW_PRIVATE is set. The check runs when
an endpoint is created and again on every connection, inside the HTTP client's network
backend, against the very addresses it then connects to: a name that resolved to a
public address at creation and to 127.0.0.1 later (DNS rebinding) is refused. TLS still
checks the certificate against the host name. Redirects are not followed, proxies from
the environment are not used, and only a short excerpt of an answer is read.

Signatures are the Standard Webhooks scheme, made by the ``standardwebhooks`` package:
``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``.
"""

from __future__ import annotations

import ipaddress
import math
import socket
from collections.abc import Callable, Iterator
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final
from urllib.parse import urlsplit

import httpcore
import httpx

from keyhive.core.webhooks import EXCERPT, TargetRefused

#: Resolves a host and port to the addresses a connection would try, in order.
Resolve = Callable[[str, int], list[str]]
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_REFUSED: Final = (
    "resolves to a private, loopback, link-local, multicast or reserved address "
    "(set KEYHIVE_WEBHOOK_ALLOW_PRIVATE to allow such targets)"
)


def _agent() -> str:
    try:
        return f"keyhive-webhooks/{version('keyhive')}"
    except PackageNotFoundError:  # pragma: no cover - a bare checkout
        return "keyhive-webhooks"


USER_AGENT: Final = _agent()


def system_resolve(host: str, port: int) -> list[str]:
    """The addresses ``getaddrinfo`` gives for a TCP connection, without repeats."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def forbidden(address: str) -> bool:
    """Whether keyhive must not connect to ``address`` without the setting: anything
    but a global unicast address (IPv4 mapped into IPv6 is judged as IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


class Guard:
    """Decides which addresses webhooks may connect to."""

    def __init__(self, *, allow_private: bool, resolve: Resolve = system_resolve) -> None:
        self.allow_private = allow_private
        self._resolve = resolve

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for ``host``; TargetRefused if it does not resolve
        or if any of them is forbidden."""
        try:
            found = self._resolve(host, port)
        except (OSError, UnicodeError):
            raise TargetRefused("the url's host cannot be resolved") from None
        if not found:
            raise TargetRefused("the url's host cannot be resolved")
        if not self.allow_private and any(forbidden(a) for a in found):
            raise TargetRefused(f"the url's host {_REFUSED}")
        return found

    def check_url(self, url: str) -> None:
        """Check the host of a URL whose form was checked already, when it resolves.

        A host that does not resolve now is accepted (its DNS may come later, or be down
        for a moment): its deliveries fail and are retried, and every connection is
        checked again anyway. A host that resolves to a forbidden address is refused.
        """
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            self.addresses(host, parts.port or _DEFAULT_PORTS.get(parts.scheme, 443))
        except TargetRefused as exc:
            if "cannot be resolved" not in str(exc):
                raise


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's own backend, connecting only to addresses the guard let through."""

    def __init__(self, guard: Guard) -> None:
        self._guard = guard
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        failure: Exception | None = None
        for address in self._guard.addresses(host, port):
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:  # pragma: no cover - never configured
        raise TargetRefused("unix sockets are not webhook targets")

    def sleep(self, seconds: float) -> None:  # pragma: no cover - no retries configured
        self._inner.sleep(seconds)


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport over httpcore whose connections pass the guard."""

    def __init__(self, guard: Guard) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=_GuardedBackend(guard),
            max_connections=32,
            max_keepalive_connections=8,
            keepalive_expiry=30.0,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        answer = self._pool.handle_request(core)
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream),
            extensions=answer.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def make_client(guard: Guard, timeout: float) -> httpx.Client:
    """The sender's HTTP client: guarded, no redirects, no environment proxies."""
    return httpx.Client(
        transport=GuardedTransport(guard),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": USER_AGENT},
    )


class Signer:
    """Standard Webhooks headers for one endpoint's signing secret."""

    def __init__(self, secret: bytes) -> None:
        from standardwebhooks import Webhook

        self._webhook = Webhook(secret)

    def headers(self, event_id: str, at: datetime, body: bytes) -> dict[str, str]:
        signature = self._webhook.sign(event_id, at, body.decode("utf-8"))
        return {
            "webhook-id": event_id,
            "webhook-timestamp": str(math.floor(at.timestamp())),
            "webhook-signature": signature,
            "content-type": "application/json",
            "accept-encoding": "identity",  # the excerpt is read raw: no decompression
        }


def post(client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST and read at most an excerpt of the answer: (status, excerpt)."""
    with client.stream("POST", url, content=body, headers=headers) as response:
        kept = b""
        for chunk in response.iter_raw():
            kept += chunk
            if len(kept) >= EXCERPT * 4:
                break
    text = kept.decode("utf-8", "replace")[:EXCERPT]
    return response.status_code, "".join(c if c.isprintable() else " " for c in text).strip()
