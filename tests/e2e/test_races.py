"""Admin changes racing each other over HTTP, against a real ``keyhive serve`` on SQLite and
on PostgreSQL: no revocation or disable is ever lost, and a secret gets one successor.

Each pair of racing requests is sent at once from a thread pool; before the pipeline
rewrite, a revoke racing a PATCH was lost in about half of the tries.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from keyhive import Code, KeyHive, Settings
from tests.e2e.serve import KeyhiveServe

pytestmark = pytest.mark.slow
PEPPER = "test=race-tests-server-key-0123456789"


@dataclass
class Served:
    server: KeyhiveServe
    hive: KeyHive  # the library on the same database, to set up and to check
    http: httpx.Client  # with the admin token


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'keyhive.db'}"
        env: dict[str, str] = {}
        settings = Settings(hashing_profile="cheapest")
    else:
        url = request.getfixturevalue("pg_url")
        env = {"KEYHIVE_PEPPERS": PEPPER}
        settings = Settings.from_env({"KEYHIVE_PEPPERS": PEPPER}, hashing_profile="cheapest")
    hive = KeyHive(url, settings=settings, watch_changes=False)
    admin = hive.bootstrap_admin()
    assert admin is not None
    server = KeyhiveServe(url, env=env).start()
    headers = {"Authorization": f"Bearer {admin.token}"}
    http = httpx.Client(base_url=server.base, headers=headers, timeout=30)
    try:
        yield Served(server, hive, http)
    finally:
        http.close()
        server.stop()
        hive.close()


Call = tuple[str, str, dict[str, object]]


def _at_once(http: httpx.Client, calls: list[Call]) -> list[httpx.Response]:
    """Send requests from 16 threads, in order, so neighbours run at the same moment."""
    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(lambda call: http.request(call[0], call[1], json=call[2]), calls))


def test_revoke_racing_a_patch_is_never_lost(served: Served) -> None:
    hive = served.hive
    client = hive.create_client("racers", key_format="hex")
    issued = [hive.issue_secret(client.client_id, scopes=["a:read"]) for _ in range(100)]
    calls: list[Call] = []
    for one in issued:
        calls.append(("POST", f"/v1/secrets/{one.secret_id}/revoke", {"reason": "race"}))
        calls.append(("PATCH", f"/v1/secrets/{one.secret_id}", {"scopes": ["a:read", "a:write"]}))
    answers = _at_once(served.http, calls)
    revokes, patches = answers[0::2], answers[1::2]
    assert [r.status_code for r in revokes] == [200] * 100
    # A PATCH that came second meets a revoked secret: 409, never a silent undo.
    assert {r.status_code for r in patches} <= {200, 409}
    lost = [one.secret_id for one in issued if hive.get_secret(one.secret_id).revoked_at is None]
    assert lost == []
    for one, patch in zip(issued, patches, strict=True):
        secret = hive.get_secret(one.secret_id)
        assert secret.revoked_reason == "race"
        if patch.status_code == 200:
            assert secret.scopes == ("a:read", "a:write")
        else:
            assert patch.json()["type"] == "urn:keyhive:problem:conflict"
        refused = served.http.get("/v1/auth", headers={"Authorization": f"Bearer {one.token}"})
        assert refused.status_code == 401
        assert refused.json()["code"] == Code.REVOKED.value
    actions = {e.action for e in hive.audit(limit=1000) if e.target_id == issued[0].secret_id}
    assert "secret.revoke" in actions


def test_disable_racing_a_patch_is_never_lost(served: Served) -> None:
    hive = served.hive
    clients = [hive.create_client(f"c{i}", key_format="hex") for i in range(100)]
    calls: list[Call] = []
    for client in clients:
        calls.append(("POST", f"/v1/clients/{client.client_id}/disable", {}))
        calls.append(("PATCH", f"/v1/clients/{client.client_id}", {"name": "renamed"}))
    answers = _at_once(served.http, calls)
    assert [r.status_code for r in answers] == [200] * 200
    for client in clients:
        now = hive.get_client(client.client_id)
        assert not now.enabled, "the disable holds until an explicit enable"
        assert now.name == "renamed", "and the rename landed too"


def test_a_secret_gets_one_successor_however_rotations_race(served: Served) -> None:
    hive = served.hive
    client = hive.create_client("rotors", key_format="hex")
    issued = [hive.issue_secret(client.client_id, scopes=["a:read"]) for _ in range(20)]
    calls: list[Call] = []
    for one in issued:
        calls += [("POST", f"/v1/secrets/{one.secret_id}/rotate", {"grace": "1h"})] * 2
    answers = _at_once(served.http, calls)
    for one, pair in zip(issued, zip(answers[0::2], answers[1::2], strict=True), strict=True):
        assert sorted(r.status_code for r in pair) == [201, 409]
        loser = next(r for r in pair if r.status_code == 409)
        assert loser.json()["type"] == "urn:keyhive:problem:conflict"
        winner = next(r for r in pair if r.status_code == 201)
        assert hive.get_secret(one.secret_id).replaced_by == winner.json()["secret_id"]
    successors = [s for s in hive.list_secrets(client.client_id) if s.rotated_from]
    assert len(successors) == 20
