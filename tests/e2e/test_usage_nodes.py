"""Usage counts from two processes on one database add up exactly (SQLite and PostgreSQL).

Two processes verify known mixes of codes at the same time, flushing every 50 ms so
their upserts of the same hourly buckets race; the counts then read back exactly
through the HTTP API, the dashboard and the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from keyhive import KeyHive, Settings
from keyhive.cli import main
from keyhive.server import create_app
from tests.web.helpers import sign_in, totals_of

pytestmark = pytest.mark.slow

_NODE = """
import json, sys, time
from pathlib import Path
from keyhive import KeyHive, Settings
url, plan, go = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3])
hive = KeyHive(url, settings=Settings(hashing_profile="cheapest"), usage_flush_interval=0.05,
               watch_changes=False, invalidator=None)
print("ready", flush=True)
while not go.exists():
    time.sleep(0.01)
seen = {}
for token, scopes, ip, times in plan:
    for _ in range(times):
        code = hive.verify(token, scopes, ip=ip).code.value
        seen[code] = seen.get(code, 0) + 1
hive.close()
print(json.dumps(seen), flush=True)
"""

#: What each node's plan yields, per secret (the rate and credit secrets are per node).
PER_NODE = {
    "ok": {"VALID": 20, "INSUFFICIENT_SCOPE": 5},
    "revoked": {"REVOKED": 3},
    "expired": {"EXPIRED": 2},
    "walled": {"IP_NOT_ALLOWED": 3, "VALID": 1},
    "disabled": {"DISABLED": 2},
    "rated": {"VALID": 3, "RATE_LIMITED": 2},
    "metered": {"VALID": 4, "USAGE_EXCEEDED": 2},
}


def _setup(url: str) -> tuple[dict[str, str], list[list[list[Any]]], str, str]:
    """Secrets for the mix; (secret ids by name, one plan per node, client id, admin token)."""
    with KeyHive(url, settings=Settings(hashing_profile="cheapest")) as hive:
        admin = hive.bootstrap_admin()
        assert admin is not None
        client = hive.create_client("acme")
        off = hive.create_client("off")
        cid = client.client_id
        ok = hive.issue_secret(cid, scopes=["a:read"])
        revoked = hive.issue_secret(cid)
        expired = hive.issue_secret(cid)
        walled = hive.issue_secret(cid, allowed_ips=["10.0.0.0/8"])
        disabled = hive.issue_secret(off.client_id)
        hive.revoke(revoked.secret_id)
        hive.update(expired.secret_id, expires_at=hive.clock.now() - timedelta(seconds=1))
        hive.disable_client(off.client_id)
        ids = {
            "ok": ok.secret_id,
            "revoked": revoked.secret_id,
            "expired": expired.secret_id,
            "walled": walled.secret_id,
            "disabled": disabled.secret_id,
        }
        plans = []
        for node in ("a", "b"):
            rated = hive.issue_secret(cid, rate="3/hour")
            metered = hive.issue_secret(cid, credits=4)
            ids[f"rated_{node}"], ids[f"metered_{node}"] = rated.secret_id, metered.secret_id
            plans.append(
                [
                    [ok.token, ["a:read"], None, 20],
                    [ok.token, ["a:write"], None, 5],
                    [revoked.token, [], None, 3],
                    [expired.token, [], None, 2],
                    [walled.token, [], "192.0.2.1", 3],
                    [walled.token, [], "10.1.2.3", 1],
                    [disabled.token, [], None, 2],
                    [rated.token, [], None, 5],
                    [metered.token, [], None, 6],
                    [ok.token[:-4] + "AAAA", [], None, 4],  # NOT_FOUND: attributable to none
                ]
            )
    return ids, plans, cid, admin.token


def _run_two_nodes(url: str, plans: list[list[list[Any]]], tmp_path: Path) -> None:
    go = tmp_path / "go"
    nodes = [
        subprocess.Popen(
            [sys.executable, "-c", _NODE, url, json.dumps(plan), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for plan in plans
    ]
    try:
        for node in nodes:
            assert node.stdout is not None and node.stdout.readline() == "ready\n"
        go.touch()
        results = [node.communicate(timeout=90) for node in nodes]
    finally:
        for node in nodes:
            if node.poll() is None:
                node.kill()
                node.wait()
    for node, (out, err) in zip(nodes, results, strict=True):
        assert node.returncode == 0, err
        seen = json.loads(out)
        assert seen["NOT_FOUND"] == 4 and seen["VALID"] == 28, seen


def _expected(ids: dict[str, str]) -> dict[str, dict[str, int]]:
    """Per secret id: both nodes' counts for the shared secrets, one node's for the others."""
    expected = {
        ids[name]: {c: 2 * n for c, n in PER_NODE[name].items()} for name in PER_NODE if name in ids
    }
    for node in ("a", "b"):
        expected[ids[f"rated_{node}"]] = PER_NODE["rated"]
        expected[ids[f"metered_{node}"]] = PER_NODE["metered"]
    return expected


def _client_totals(expected: dict[str, dict[str, int]], ids: dict[str, str]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for sid, counts in expected.items():
        if sid == ids["disabled"]:
            continue  # another client's
        for code, n in counts.items():
            totals[code] = totals.get(code, 0) + n
    return totals


def _nonzero(totals: dict[str, int]) -> dict[str, int]:
    return {code: n for code, n in totals.items() if n}


async def _check_api(url: str, ids: dict[str, str], cid: str, token: str) -> None:
    expected = _expected(ids)
    with KeyHive(url, settings=Settings(hashing_profile="cheapest")) as hive:
        transport = httpx.ASGITransport(app=create_app(hive))
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            for sid, counts in expected.items():
                got = await http.get(f"/v1/secrets/{sid}/usage?since=1d", headers=headers)
                assert got.status_code == 200, got.text
                assert _nonzero(got.json()["totals"]) == counts
                assert got.json()["secret_id"] == sid
            got = await http.get(f"/v1/clients/{cid}/usage?since=2d&bucket=day", headers=headers)
            assert got.status_code == 200, got.text
            assert _nonzero(got.json()["totals"]) == _client_totals(expected, ids)
            # The dashboard's secret pages show the same counts.
            await sign_in(http, token)
            for sid, counts in expected.items():
                page = await http.get("/dashboard/secret", params={"id": sid, "range": "24h"})
                assert page.status_code == 200, page.text
                assert totals_of(page.text) == counts


def _check_cli(url: str, ids: dict[str, str], cid: str) -> None:
    expected = _expected(ids)
    runner = CliRunner()
    for sid, counts in expected.items():
        result = runner.invoke(main, ["--db", url, "usage", sid, "--since", "1d", "--json"])
        assert result.exit_code == 0, result.output
        assert _nonzero(json.loads(result.stdout)["totals"]) == counts
    result = runner.invoke(main, ["--db", url, "usage", "--client", cid, "--json"])
    assert result.exit_code == 0, result.output
    assert _nonzero(json.loads(result.stdout)["totals"]) == _client_totals(expected, ids)


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.mark.anyio
async def test_counts_of_two_nodes_add_up_through_api_dashboard_and_cli(
    shared_url: str, tmp_path: Path
) -> None:
    ids, plans, cid, token = _setup(shared_url)
    _run_two_nodes(shared_url, plans, tmp_path)
    await _check_api(shared_url, ids, cid, token)
    _check_cli(shared_url, ids, cid)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
