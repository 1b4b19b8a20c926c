"""Health, readiness, Prometheus metrics and the lifespan that flushes usage counts."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx
import pytest

from keyhive import FrozenClock, KeyHive, Settings
from keyhive.server import create_app

from .helpers import assert_problem, bearer

pytestmark = pytest.mark.anyio


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert (r.status_code, r.json()) == (200, {"status": "ready"})


async def test_readyz_is_503_when_the_database_is_gone(
    tmp_path: Path, settings: Settings, clock: FrozenClock
) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    hive = KeyHive(f"sqlite:///{folder / 'k.db'}", settings=settings, clock=clock)
    app = create_app(hive)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/readyz")).status_code == 200
        hive.store.close()
        shutil.rmtree(folder)
        r = await client.get("/readyz")
        assert assert_problem(r, 503)["type"] == "urn:keyhive:problem:storage-unavailable"
        assert r.headers["retry-after"] == "1"
        assert (await client.get("/healthz")).status_code == 200
    hive.close()


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.rsplit("}", 1)[0]))
        if found == labels:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_verifications_and_never_hold_secrets(
    client: httpx.AsyncClient, hive: KeyHive, verifier: dict[str, str]
) -> None:
    reader = hive.create_client("reader")
    token = hive.issue_secret(reader.client_id, scopes=["a:read"]).token
    await client.post("/v1/verify", json={"token": token}, headers=verifier)
    await client.post("/v1/verify", json={"token": token + "x"}, headers=verifier)
    await client.get("/v1/auth", headers=bearer(token))
    await client.get("/v1/auth")
    await client.get(f"/v1/clients/{reader.client_id}", headers=bearer(token))
    await client.get(f"/no/such/{token}")
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    count = "keyhive_verifications_total"
    assert _sample(text, count, endpoint="verify", code="VALID") == 1
    assert _sample(text, count, endpoint="verify", code="NOT_FOUND") == 1
    assert _sample(text, count, endpoint="auth", code="VALID") == 1
    assert _sample(text, count, endpoint="auth", code="MISSING") == 1
    latency = "keyhive_http_request_duration_seconds_count"
    assert _sample(text, latency, route="/v1/verify", method="POST") == 2
    assert _sample(text, latency, route="/v1/clients/{client_id}", method="GET") == 1
    assert _sample(text, latency, route="unmatched", method="GET") == 1
    requests = "keyhive_http_requests_total"
    assert _sample(text, requests, route="/v1/auth", method="GET", status="401") == 1
    assert token not in text
    assert reader.client_id not in text


async def test_lifespan_end_flushes_usage_counts(hive: KeyHive, verifier: dict[str, str]) -> None:
    reader = hive.create_client("reader")
    issued = hive.issue_secret(reader.client_id)
    app = create_app(hive)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.post("/v1/verify", json={"token": issued.token}, headers=verifier)
            assert r.json()["valid"] is True
        stored = hive.store.get_secret(issued.secret_id)
        assert stored is not None and stored.secret.usage_count == 0
    stored = hive.store.get_secret(issued.secret_id)
    assert stored is not None and stored.secret.usage_count == 1
