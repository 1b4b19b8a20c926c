"""Plans across three ``keyhive serve`` nodes on one PostgreSQL and one Redis: an owner's
limit shared by two secrets admits exactly its limit in all, owner credits spent with
costs of 1 and 5 never go below zero, and a role's scope removed on one node is refused
by every node within a second.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from keyhive import KeyHive, Settings
from tests.e2e.serve import KeyhiveServe
from tests.infra import PostgresServer, start_redis

pytestmark = pytest.mark.slow


class Nodes:
    def __init__(self, bases: list[str], admin: str, hive: KeyHive) -> None:
        self.bases = bases
        self.admin = {"Authorization": f"Bearer {admin}"}
        self.hive = hive
        self.http = httpx.Client(timeout=10)

    def verify(self, node: int, token: str, scopes: list[str] = [], cost: int = 1) -> Any:  # noqa: B006
        answer = self.http.post(
            f"{self.bases[node]}/v1/verify",
            json={"token": token, "scopes": scopes, "cost": cost},
            headers=self.admin,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def nodes(postgres: PostgresServer) -> Iterator[Nodes]:
    redis = start_redis()
    db_url = postgres.url(postgres.create_database("plans"))
    hive = KeyHive(db_url, settings=Settings(hashing_profile="cheapest", redis_url=redis.url))
    admin = hive.bootstrap_admin()
    assert admin is not None
    servers = [KeyhiveServe(db_url, env={"KEYHIVE_REDIS_URL": redis.url}) for _ in range(3)]
    try:
        for server in servers:
            server.start()
        yield Nodes([s.base for s in servers], admin.token, hive)
    finally:
        for server in servers:
            server.stop()
        hive.close()
        redis.kill()


def test_an_owner_limit_shared_by_two_secrets_admits_exactly_the_limit(nodes: Nodes) -> None:
    hive = nodes.hive
    hive.set_owner_limits("acme", rate="50/minute")
    tokens = [
        hive.issue_secret(hive.create_client(name, owner="acme").client_id).token
        for name in ("web", "batch")
    ]
    with ThreadPoolExecutor(15) as pool:
        results = list(pool.map(lambda i: nodes.verify(i % 3, tokens[i % 2]), range(150)))
    codes = collections.Counter(r["code"] for r in results)
    print(f"owner 50/minute, 2 secrets x 3 nodes, 150 requests: {dict(codes)}")
    assert codes == {"VALID": 50, "RATE_LIMITED": 100}
    refused = [r for r in results if r["code"] == "RATE_LIMITED"]
    assert {tuple(r["limited_by"].values()) for r in refused} == {("owner", "default", "rate")}
    assert all(r["limits"][0]["holder"] == "owner" for r in results)


def test_owner_credits_spent_with_costs_never_go_below_zero(nodes: Nodes) -> None:
    hive = nodes.hive
    hive.set_owner_limits("initech", credits=100)
    tokens = [
        hive.issue_secret(hive.create_client(name, owner="initech").client_id).token
        for name in ("a", "b")
    ]
    costs = [1, 5] * 30  # 180 units asked of 100

    def ask(i: int) -> tuple[int, Any]:
        return costs[i], nodes.verify(i % 3, tokens[i % 2], cost=costs[i])

    with ThreadPoolExecutor(15) as pool:
        results = list(pool.map(ask, range(len(costs))))
    spent = sum(cost for cost, r in results if r["code"] == "VALID")
    assert spent <= 100
    assert all(r["remaining"] >= 0 for _, r in results)
    assert {r["code"] for _, r in results} == {"VALID", "USAGE_EXCEEDED"}
    refused = [r for _, r in results if r["code"] == "USAGE_EXCEEDED"]
    assert {tuple(r["limited_by"].values()) for r in refused} == {("owner", "credits", "credits")}
    # What is left is spent one unit at a time, to exactly zero and no further.
    left = 100 - spent
    ones = [nodes.verify(n % 3, tokens[n % 2]) for n in range(left + 2)]
    assert [r["code"] for r in ones] == ["VALID"] * left + ["USAGE_EXCEEDED"] * 2
    if left:
        assert ones[left - 1]["remaining"] == 0
    print(f"owner credits 100, costs 1 and 5: {spent} spent at once, then {left} one by one")


def test_a_role_scope_removed_is_refused_by_every_node_within_a_second(nodes: Nodes) -> None:
    hive = nodes.hive
    hive.create_role("reader", scopes=["articles:read", "users:read"])
    client = hive.create_client("role-holder")
    token = hive.issue_secret(client.client_id, roles=["reader"]).token
    for node in range(3):
        answer = nodes.verify(node, token, ["articles:read"])
        assert answer["code"] == "VALID"
        assert answer["scopes"] == ["articles:read", "users:read"] and answer["roles"] == ["reader"]
    changed = nodes.http.patch(
        f"{nodes.bases[0]}/v1/roles/reader", json={"scopes": ["users:read"]}, headers=nodes.admin
    )
    assert changed.status_code == 200, changed.text
    start = time.monotonic()
    while not all(
        nodes.verify(n, token, ["articles:read"])["code"] == "INSUFFICIENT_SCOPE" for n in range(3)
    ):
        assert time.monotonic() - start < 1.0, "a node still grants the removed scope"
        time.sleep(0.02)
    print(f"role scope removed on A refused on A, B and C after {time.monotonic() - start:.3f} s")
    assert all(nodes.verify(n, token, ["users:read"])["code"] == "VALID" for n in range(3))
