"""GET /v1/audit/head: the newest event's id and hash, for admins, matching the chain."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from keyhive import KeyHive
from keyhive.core.audit_chain import Anchor
from keyhive.server import create_app
from keyhive.storage.sql import SqlStore

from .helpers import assert_problem, bearer

pytestmark = pytest.mark.anyio


async def test_the_head_is_the_newest_event_and_anchors_the_chain(
    client: httpx.AsyncClient, hive: KeyHive, admin: dict[str, str]
) -> None:
    created = (await client.post("/v1/clients", json={"name": "acme"}, headers=admin)).json()
    response = await client.get("/v1/audit/head", headers=admin)
    assert response.status_code == 200, response.text
    head = response.json()
    events = hive.audit(limit=1000)
    assert head["id"] == events[-1].id and events[-1].target_id == created["client_id"]
    assert len(head["hash"]) == 64 and head["anchor"] == f"{head['id']}:{head['hash']}"
    assert hive.verify_audit(anchor=Anchor.parse(head["anchor"])).ok
    await client.post(f"/v1/clients/{created['client_id']}/disable", headers=admin)
    newer = (await client.get("/v1/audit/head", headers=admin)).json()
    assert newer["id"] == head["id"] + 1 and newer["hash"] != head["hash"]


async def test_a_head_from_before_the_chain_has_no_hash(sqlite_hive: KeyHive) -> None:
    """A database upgraded from a keyhive without the chain: its events carry no hash."""
    issued = sqlite_hive.bootstrap_admin()
    assert issued is not None
    store = sqlite_hive.store
    assert isinstance(store, SqlStore)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET hash = NULL, prev_hash = NULL"))
    transport = httpx.ASGITransport(app=create_app(sqlite_hive))
    async with httpx.AsyncClient(transport=transport, base_url="http://keyhive.test") as c:
        head = (await c.get("/v1/audit/head", headers=bearer(issued.token))).json()
    assert head["id"] == store.last_audit_id() and head["at"] is not None
    assert head["hash"] is None and head["anchor"] is None


async def test_the_head_needs_the_admin_scope(
    client: httpx.AsyncClient, hive: KeyHive, verifier: dict[str, str]
) -> None:
    assert_problem(await client.get("/v1/audit/head"), 401)
    assert_problem(await client.get("/v1/audit/head", headers=verifier), 403)
