"""Three ``keyhive serve`` nodes sharing one PostgreSQL and one Redis, over real sockets.

The acceptance of scaling out: a secret issued on one node verifies on the others, a
revoke reaches every node within 1 second, rate limits and credits hold across nodes
(exactly the limit is admitted), and the nodes ride out a Redis outage: cached secrets
keep verifying, rate limits fall back to per-node counting, credits fail closed, and
everything (invalidation included) resumes when Redis returns on the same port.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from keyhive import Issued, KeyHive, Settings
from keyhive.counters.redis_changes import CHANNEL
from tests.infra import PostgresServer, RedisServer, free_port, start_redis, wait_until_up

pytestmark = pytest.mark.slow
KEYHIVE = Path(sys.executable).with_name("keyhive")


@dataclass
class Cluster:
    nodes: list[str]  # base URLs of A, B and C
    admin_token: str
    client_id: str
    hive: KeyHive  # the library on the same PostgreSQL and Redis, for limited secrets
    redis: RedisServer
    http: httpx.Client

    def verify(self, node: int, token: str, scopes: Sequence[str] = ()) -> dict[str, Any]:
        response = self.http.post(
            f"{self.nodes[node]}/v1/verify",
            json={"token": token, "scopes": list(scopes)},
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def admin(self, node: int, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post(
            f"{self.nodes[node]}{path}",
            json=body or {},
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )
        assert response.status_code in (200, 201), response.text
        data: dict[str, Any] = response.json()
        return data

    def issue(self, **limits: Any) -> Issued:
        return self.hive.issue_secret(self.client_id, **limits)

    def spread(self, token: str, requests: int) -> list[dict[str, Any]]:
        """``requests`` verifications at once from 15 threads, round-robin over the nodes."""
        with ThreadPoolExecutor(15) as pool:
            return list(pool.map(lambda i: self.verify(i % 3, token), range(requests)))

    def subscribers(self) -> int:
        return int(dict(self.redis.client().pubsub_numsub(CHANNEL))[CHANNEL.encode()])


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    wait_until_up(f"{base}/healthz", process, log, f"node {base}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="module")
def cluster(postgres: PostgresServer) -> Iterator[Cluster]:
    redis = start_redis()
    processes: list[subprocess.Popen[bytes]] = []
    logs = Path(tempfile.mkdtemp(prefix="keyhive-nodes-"))
    db_url = postgres.url(postgres.create_database("multinode"))
    settings = Settings(hashing_profile="cheapest", redis_url=redis.url)
    hive = KeyHive(db_url, settings=settings)
    http = httpx.Client(timeout=10)
    try:
        admin = hive.bootstrap_admin()
        assert admin is not None
        env = {**os.environ, "KEYHIVE_HASHING_PROFILE": "cheapest"}
        nodes = []
        for name in "abc":
            port = free_port()
            command = [str(KEYHIVE), "--db", db_url, "--redis", redis.url, "serve"]
            command += ["--port", str(port), "--log-level", "warning"]
            with (logs / f"{name}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
                )
            nodes.append(f"http://127.0.0.1:{port}")
        for base, process, name in zip(nodes, processes, "abc", strict=True):
            _wait_until_up(base, process, logs / f"{name}.log")
        client_id = hive.create_client("multinode").client_id
        yield Cluster(nodes, admin.token, client_id, hive, redis, http)
    finally:
        for process in processes:
            _stop(process)
        http.close()
        hive.close()
        redis.kill()


def _codes(results: list[dict[str, Any]]) -> collections.Counter[str]:
    return collections.Counter(r["code"] for r in results)


def _within(check: Callable[[], bool], bound: float) -> float:
    """Seconds until ``check`` held; fails once ``bound`` has passed."""
    start = time.monotonic()
    while not check():
        elapsed = time.monotonic() - start
        assert elapsed < bound, f"not within {bound} s"
        time.sleep(0.02)
    return time.monotonic() - start


def test_a_secret_issued_on_a_verifies_on_b_and_c(cluster: Cluster) -> None:
    client = cluster.admin(0, "/v1/clients", {"name": "issued-on-a"})
    issued = cluster.admin(
        0, f"/v1/clients/{client['client_id']}/secrets", {"scopes": ["articles:read"]}
    )
    for node in (1, 2):
        result = cluster.verify(node, issued["token"], ["articles:read"])
        assert (result["code"], result["secret_id"]) == ("VALID", issued["secret_id"])
    assert cluster.verify(1, issued["token"], ["articles:write"])["code"] == "INSUFFICIENT_SCOPE"


def test_a_revoke_on_c_is_rejected_on_a_and_b_within_a_second(cluster: Cluster) -> None:
    issued = cluster.issue()
    assert [cluster.verify(n, issued.token)["code"] for n in (0, 1)] == ["VALID", "VALID"]
    cluster.admin(2, f"/v1/secrets/{issued.secret_id}/revoke", {"reason": "e2e"})
    latency = _within(
        lambda: all(cluster.verify(n, issued.token)["code"] == "REVOKED" for n in (0, 1)), 1.0
    )
    print(f"revoke on C rejected on A and B after {latency:.3f} s")


def test_a_rate_limit_spread_over_three_nodes_admits_exactly_the_limit(cluster: Cluster) -> None:
    issued = cluster.issue(rate="50/minute")
    results = cluster.spread(issued.token, 150)
    codes = _codes(results)
    print(f"rate 50/minute over 3 nodes, 150 requests: {dict(codes)}")
    assert codes == {"VALID": 50, "RATE_LIMITED": 100}
    assert all(r["ratelimit"]["limit"] == 50 for r in results)
    assert all(r["retry_after"] > 0 for r in results if r["code"] == "RATE_LIMITED")


def test_credits_never_go_below_zero_under_concurrent_use(cluster: Cluster) -> None:
    issued = cluster.issue(credits=100)
    results = cluster.spread(issued.token, 180)
    codes = _codes(results)
    print(f"credits=100 over 3 nodes, 180 requests: {dict(codes)}")
    assert codes == {"VALID": 100, "USAGE_EXCEEDED": 80}
    remaining = sorted(r["remaining"] for r in results if r["code"] == "VALID")
    assert remaining == list(range(100)), "each credit is spent exactly once"
    assert {r["remaining"] for r in results if r["code"] == "USAGE_EXCEEDED"} == {0}


def test_the_nodes_ride_out_a_redis_outage(cluster: Cluster) -> None:
    cached, spare = cluster.issue(), cluster.issue()
    metered = cluster.issue(credits=1000)
    for node in range(3):
        assert cluster.verify(node, cached.token)["code"] == "VALID"
        assert cluster.verify(node, spare.token)["code"] == "VALID"
        assert cluster.verify(node, metered.token)["code"] == "VALID"
    subscribers = cluster.subscribers()
    assert subscribers >= 3
    limited = cluster.issue(rate="5/minute")

    cluster.redis.kill()
    assert [cluster.verify(n, cached.token)["code"] for n in range(3)] == ["VALID"] * 3
    per_node = [
        _codes([cluster.verify(node, limited.token) for _ in range(8)]) for node in range(3)
    ]
    print(f"rate 5/minute while Redis is down, 8 requests per node: {per_node}")
    assert per_node == [{"VALID": 5, "RATE_LIMITED": 3}] * 3, "each node counts alone"
    refused = [cluster.verify(n, metered.token) for n in range(3)]
    assert {r["code"] for r in refused} == {"USAGE_EXCEEDED"}, "credits fail closed"
    cluster.admin(2, f"/v1/secrets/{spare.secret_id}/revoke")
    latency = _within(
        lambda: all(cluster.verify(n, spare.token)["code"] == "REVOKED" for n in (0, 1)), 1.0
    )
    print(f"revoke without Redis (audit-log polling) seen on A and B after {latency:.3f} s")

    cluster.redis.start()
    resubscribed = _within(lambda: cluster.subscribers() == subscribers, 10.0)
    print(f"all {subscribers} subscribers back on the channel after {resubscribed:.3f} s")
    assert [cluster.verify(n, cached.token)["code"] for n in range(3)] == ["VALID"] * 3
    assert {cluster.verify(n, metered.token)["code"] for n in range(3)} == {"VALID"}
    cluster.admin(2, f"/v1/secrets/{cached.secret_id}/revoke")
    latency = _within(
        lambda: all(cluster.verify(n, cached.token)["code"] == "REVOKED" for n in (0, 1)), 1.0
    )
    print(f"revoke after Redis returned seen on A and B after {latency:.3f} s")
    shared = _codes(cluster.spread(cluster.issue(rate="10/minute").token, 30))
    assert shared == {"VALID": 10, "RATE_LIMITED": 20}, "one shared window again"
