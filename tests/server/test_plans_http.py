"""Plans over HTTP: RateLimit-Policy and RateLimit as structured fields, costs on the hot
routes, owners' limits and roles over the admin API."""

from __future__ import annotations

import http_sf
import httpx
import pytest

from keyhive import KeyHive

from .helpers import assert_problem, bearer

pytestmark = pytest.mark.anyio


def _fields(answer: httpx.Response) -> tuple[list[tuple[str, dict[str, int]]], ...]:
    policy = http_sf.parse(answer.headers["ratelimit-policy"].encode(), tltype="list")
    current = http_sf.parse(answer.headers["ratelimit"].encode(), tltype="list")
    return policy, current  # type: ignore[return-value]


async def test_auth_answers_carry_every_named_limit_as_structured_fields(
    client: httpx.AsyncClient, hive: KeyHive
) -> None:
    hive.set_owner_limits("acme", rate="1000/minute")
    owned = hive.create_client("web", owner="acme")
    token = hive.issue_secret(
        owned.client_id, rate=["burst=3/second", "day=50000/day"], scopes=["a:read"]
    ).token
    passed = await client.get("/v1/auth?scope=a:read&cost=2", headers=bearer(token))
    assert passed.status_code == 200, passed.text
    policy, current = _fields(passed)
    assert policy == [
        ("burst", {"q": 3, "w": 1}),
        ("day", {"q": 50000, "w": 86400}),
        ("owner.default", {"q": 1000, "w": 60}),
    ]
    assert [(name, p["r"]) for name, p in current] == [
        ("burst", 1),
        ("day", 49998),
        ("owner.default", 998),
    ]
    assert all(0 <= p["t"] <= w["w"] for (_, p), (_, w) in zip(current, policy, strict=True))
    refused = await client.get("/v1/auth?cost=2", headers=bearer(token))
    body = assert_problem(refused, 429)
    assert body["code"] == "RATE_LIMITED"
    assert int(refused.headers["retry-after"]) >= 1
    policy, current = _fields(refused)
    assert [(name, p["r"]) for name, p in current][0] == ("burst", 1), "a refusal spends nothing"


@pytest.mark.parametrize("query", ["cost=-1", "cost=abc", "cost=1&cost=2", "cost=99999999999"])
async def test_a_bad_cost_is_a_400(client: httpx.AsyncClient, hive: KeyHive, query: str) -> None:
    token = hive.issue_secret(hive.create_client("c").client_id).token
    answer = await client.get(f"/v1/auth?{query}", headers=bearer(token))
    assert assert_problem(answer, 400)["type"].endswith("invalid-cost")


async def test_verify_takes_a_cost_and_names_the_limit_that_refused(
    client: httpx.AsyncClient, hive: KeyHive, verifier: dict[str, str]
) -> None:
    hive.set_owner_limits("globex", credits=10)
    token = hive.issue_secret(hive.create_client("c", owner="globex").client_id).token
    first = (
        await client.post("/v1/verify", json={"token": token, "cost": 7}, headers=verifier)
    ).json()
    assert (first["code"], first["remaining"]) == ("VALID", 3)
    assert first["credits"] == [
        {"holder": "owner", "allowance": 10, "remaining": 3, "refills_at": None}
    ]
    over = (
        await client.post("/v1/verify", json={"token": token, "cost": 4}, headers=verifier)
    ).json()
    assert over["code"] == "USAGE_EXCEEDED"
    assert over["limited_by"] == {"holder": "owner", "name": "credits", "kind": "credits"}
    bad = await client.post("/v1/verify", json={"token": token, "cost": -1}, headers=verifier)
    assert bad.status_code == 422


async def test_owners_and_roles_over_the_admin_api(
    client: httpx.AsyncClient, hive: KeyHive, admin: dict[str, str]
) -> None:
    put = await client.put(
        "/v1/owners/acme",
        json={
            "rate": {"burst": "20/second", "day": "50000/day"},
            "credits": 100,
            "refill": "monthly",
        },
        headers=admin,
    )
    assert put.status_code == 200, put.text
    assert [r["name"] for r in put.json()["rate_limits"]] == ["burst", "day"]
    assert put.json()["refill"] == "month"
    assert (await client.get("/v1/owners/acme", headers=admin)).json() == put.json()
    assert (await client.get("/v1/owners/acme", headers=bearer("kh_nope"))).status_code == 401
    made = await client.post(
        "/v1/roles", json={"name": "reader", "scopes": ["articles:read"]}, headers=admin
    )
    assert made.status_code == 201, made.text
    admins = await client.post(
        "/v1/roles", json={"name": "boss", "scopes": ["keyhive:admin"]}, headers=admin
    )
    assert admins.status_code == 422, "a role cannot make admins"
    owner = hive.create_client("c")
    issued = await client.post(
        f"/v1/clients/{owner.client_id}/secrets", json={"roles": ["reader"]}, headers=admin
    )
    assert issued.status_code == 201 and issued.json()["roles"] == ["reader"]
    token = issued.json()["token"]
    passed = await client.get("/v1/auth?scope=articles:read", headers=bearer(token))
    assert passed.headers["x-keyhive-scopes"] == "articles:read"
    held = await client.delete("/v1/roles/reader", headers=admin)
    assert assert_problem(held, 409)["type"].endswith("conflict")
    unknown = await client.post(
        f"/v1/clients/{owner.client_id}/secrets", json={"roles": ["nobody"]}, headers=admin
    )
    assert unknown.status_code == 404, "a role that does not exist is not found"
    await client.post(f"/v1/secrets/{issued.json()['secret_id']}/revoke", headers=admin)
    assert (await client.delete("/v1/roles/reader", headers=admin)).status_code == 200
    assert (await client.get("/v1/roles", headers=admin)).json() == {"items": []}
