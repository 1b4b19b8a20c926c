"""Acceptance: a killed ``keyhive serve`` loses no committed event.

A real ``keyhive serve`` on SQLite delivers to a real receiver. While it is sending one
event (the receiver holds the request open) more changes commit; then it is killed with
SIGKILL. A new ``keyhive serve`` delivers every committed event once the dead sender's
lease ends (the endpoint gets one request at a time), the one that was in flight again,
with the same id: at least once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from keyhive.cli import main
from tests.webhooks.receiver import Receiver

from .serve import KeyhiveServe

pytestmark = pytest.mark.slow


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def test_a_killed_serve_loses_no_committed_event(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYHIVE_HASHING_PROFILE", "cheapest")
    db = f"sqlite:///{tmp_path / 'keyhive.db'}"
    init = CliRunner().invoke(main, ["--db", db, "init", "--json"])
    assert init.exit_code == 0, init.output
    admin = {"Authorization": f"Bearer {json.loads(init.stdout)['admin_token']}"}
    env = {"KEYHIVE_WEBHOOK_ALLOW_PRIVATE": "1", "KEYHIVE_WEBHOOK_TIMEOUT": "1s"}
    serve = KeyhiveServe(db, env=env).start()
    try:
        api = httpx.Client(base_url=serve.base, headers=admin, timeout=10)
        made = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["*"]})
        assert made.status_code == 201, made.text
        receiver.secret = made.json()["secret"]
        client = api.post("/v1/clients", json={"name": "acme"}).json()["client_id"]
        secret = api.post(f"/v1/clients/{client}/secrets", json={"scopes": ["a:b"]}).json()
        receiver.wait_for(1)  # secret.issued: the sender runs inside serve

        receiver.hold = threading.Event()
        receiver.arrived.clear()
        assert api.post(f"/v1/clients/{client}/disable").status_code == 200
        assert api.post(f"/v1/clients/{client}/enable").status_code == 200
        assert api.post(f"/v1/secrets/{secret['secret_id']}/revoke").status_code == 200
        assert receiver.arrived.wait(10), "the sender sends client.disabled"
        serve.kill()  # mid-send, with two more events committed and not yet sent
        held, receiver.hold = receiver.hold, None
        held.set()
        # secret.issued, and client.disabled arrived but was never answered
        assert [r.type for r in receiver.first_of_each()] == ["secret.issued", "client.disabled"]

        serve.start()
        started = time.monotonic()
        got = receiver.wait_for(4, timeout=40)
        assert [r.type for r in got][:1] == ["secret.issued"]
        assert sorted(r.type for r in got) == sorted(
            ["secret.issued", "client.disabled", "client.enabled", "secret.revoked"]
        )
        hook = made.json()["webhook_id"]
        while True:  # once the dead sender's lease ends (3 timeouts + 5 s)
            deliveries = api.get(f"/v1/webhooks/{hook}/deliveries").json()["items"]
            if all(d["status"] == "delivered" for d in deliveries):
                break
            assert time.monotonic() - started < 40, deliveries
            time.sleep(0.2)
        assert len(deliveries) == 4
        # The event that was in flight came again with its id and body: at least once.
        by_id: dict[str, set[bytes]] = {}
        for item in receiver.received:
            assert item.verified
            by_id.setdefault(item.webhook_id, set()).add(item.body)
        assert all(len(bodies) == 1 for bodies in by_id.values())
        in_flight = got[1].webhook_id
        assert [r.webhook_id for r in receiver.received].count(in_flight) == 2
    finally:
        serve.stop()
