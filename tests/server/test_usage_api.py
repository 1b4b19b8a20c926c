"""The usage API: series per code for a secret or a client, admin only, bounded windows."""

from __future__ import annotations

import httpx
import pytest

from keyhive import KeyHive

from .helpers import assert_problem

pytestmark = pytest.mark.anyio

SLASHED = "ab/cd+ef/gh=="


async def test_a_secret_and_its_client_read_back_their_counts(
    client: httpx.AsyncClient, admin: dict[str, str], hive: KeyHive
) -> None:
    made = hive.create_client("acme", client_id=SLASHED)
    issued = hive.issue_secret(made.client_id, scopes=["a:read"])
    other = hive.issue_secret(made.client_id)
    for _ in range(3):
        hive.verify(issued.token, ["a:read"])
    hive.verify(issued.token, ["a:write"])
    hive.verify(other.token)
    r = await client.get(f"/v1/secrets/{issued.secret_id}/usage?since=2h", headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["secret_id"] == issued.secret_id
    assert body["bucket"] == "hour"
    assert body["times"] == ["2029-12-31T23:00:00Z", "2030-01-01T00:00:00Z"]
    assert body["series"]["VALID"] == [0, 3]
    assert body["totals"]["INSUFFICIENT_SCOPE"] == 1
    assert "NOT_FOUND" not in body["totals"]
    r = await client.get(f"/v1/clients/{SLASHED}/usage?since=1d&bucket=day", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["client_id"] == SLASHED
    assert r.json()["series"]["VALID"] == [4]
    assert r.json()["totals"]["INSUFFICIENT_SCOPE"] == 1


@pytest.mark.parametrize(
    "query",
    [
        "since=0s",
        "since=32d",
        "since=401d&bucket=day",
        "since=forever",
        "bucket=week",
        "since=" + "9" * 70,
    ],
)
async def test_bad_windows_are_422(
    client: httpx.AsyncClient, admin: dict[str, str], hive: KeyHive, query: str
) -> None:
    issued = hive.issue_secret(hive.create_client("c").client_id)
    r = await client.get(f"/v1/secrets/{issued.secret_id}/usage?{query}", headers=admin)
    assert_problem(r, 422)


async def test_unknown_ids_are_404(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    assert_problem(await client.get("/v1/secrets/AAAAAAAAAAAAAAAA/usage", headers=admin), 404)
    assert_problem(await client.get("/v1/clients/nobody/usage", headers=admin), 404)
    assert_problem(await client.get("/v1/secrets/" + "x" * 300 + "/usage", headers=admin), 404)


async def test_only_admins_read_usage(
    client: httpx.AsyncClient, verifier: dict[str, str], hive: KeyHive
) -> None:
    issued = hive.issue_secret(hive.create_client("c").client_id)
    assert_problem(await client.get(f"/v1/secrets/{issued.secret_id}/usage"), 401)
    r = await client.get(f"/v1/secrets/{issued.secret_id}/usage", headers=verifier)
    assert_problem(r, 403)


async def test_openapi_documents_the_usage_routes(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    for path in ("/v1/secrets/{secret_id}/usage", "/v1/clients/{client_id}/usage"):
        operation = spec["paths"][path]["get"]
        params = {p["name"]: p for p in operation["parameters"]}
        assert params["since"]["schema"]["pattern"]
        assert params["bucket"]["schema"]["enum"] == ["hour", "day"]
        assert {"401", "403", "404", "422"} <= set(operation["responses"])
