"""Rate limits and credits counted in a real Redis, shared by several "nodes" (instances).

Each node is a separate limiter or counter object with its own connection pool, so the
only thing they share is Redis, as on separate machines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from keyhive.core.quotas import RateLimit
from keyhive.counters.credits import RedisCredits
from keyhive.counters.rate import LimitsRateLimiter
from tests.infra import RedisServer

NODES = 3
THREADS_PER_NODE = 4


def hammer(calls: list[Callable[[], bool]], times: int) -> int:
    """Run each call ``times`` times on its own thread, all at once; count the True answers."""
    admitted = 0
    lock = threading.Lock()
    barrier = threading.Barrier(len(calls))

    def work(call: Callable[[], bool]) -> None:
        nonlocal admitted
        barrier.wait()
        for _ in range(times):
            if call():
                with lock:
                    admitted += 1

    threads = [threading.Thread(target=work, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return admitted


def test_rate_limit_across_nodes_admits_exactly_the_limit(redis_url: str) -> None:
    nodes = [LimitsRateLimiter(redis_url) for _ in range(NODES)]
    rate = RateLimit(25, 60)
    calls = [lambda n=n: n.hit("secret-a", rate).allowed for n in nodes] * THREADS_PER_NODE
    assert hammer(calls, 5) == 25  # 60 attempts
    assert not nodes[0].hit("secret-a", rate).allowed
    assert nodes[1].hit("secret-b", rate).allowed, "each secret has its own window"


def test_rate_limit_status_reports_the_shared_window(redis_url: str) -> None:
    first, second = LimitsRateLimiter(redis_url), LimitsRateLimiter(redis_url)
    rate = RateLimit(3, 60)
    before = time.time()
    statuses = [first.hit("k", rate), second.hit("k", rate), first.hit("k", rate)]
    assert [s.remaining for s in statuses] == [2, 1, 0]
    refused = second.hit("k", rate)
    assert not refused.allowed and refused.remaining == 0 and refused.limit == 3
    assert before < refused.reset <= time.time() + 60


def test_without_redis_each_node_counts_its_own_share(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The documented fallback: while Redis is down, every node enforces the limit alone."""
    nodes = [LimitsRateLimiter(own_redis.url) for _ in range(2)]
    rate = RateLimit(4, 60)
    assert nodes[0].hit("k", rate).allowed
    own_redis.kill()
    admitted = [sum(node.hit("k", rate).allowed for _ in range(10)) for node in nodes]
    assert admitted == [4, 4]
    switches = [r for r in caplog.records if "counting locally" in r.getMessage()]
    assert len(switches) == 2, "one warning per node, not one per request"
    own_redis.start()
    shared = [nodes[i % 2].hit("fresh", rate).allowed for i in range(10)]
    assert shared.count(True) == 4, "back on Redis, the nodes share one window again"


def test_credits_across_nodes_never_go_below_zero(redis_url: str) -> None:
    nodes = [RedisCredits(redis_url) for _ in range(NODES)]
    used_seen: list[int] = []

    def spend(node: RedisCredits) -> bool:
        spent, used = node.spend("secret:total@0", 100, 0)
        assert used <= 100
        if spent:
            used_seen.append(used)
        return spent

    calls = [lambda n=n: spend(n) for n in nodes] * THREADS_PER_NODE
    assert hammer(calls, 15) == 100  # 180 attempts
    assert sorted(used_seen) == list(range(1, 101)), "every credit is spent exactly once"
    assert nodes[0].spend("secret:total@0", 100, 0) == (False, 100)


def test_credits_continue_from_the_recorded_count(redis_url: str) -> None:
    """A counter missing from Redis starts at what the database recorded (``start``)."""
    node = RedisCredits(redis_url)
    assert node.spend("k", 10, 8) == (True, 9)
    assert node.spend("k", 10, 0) == (True, 10), "start matters only for a new counter"
    assert node.spend("k", 10, 0) == (False, 10)
    assert node.spend("k2", 10, 10) == (False, 10)
    assert node.spend("k3", 10, 7, cost=3) == (True, 10)


def test_credits_raise_when_redis_is_down(own_redis: RedisServer) -> None:
    node = RedisCredits(own_redis.url)
    assert node.spend("k", 5, 0) == (True, 1)
    own_redis.kill()
    with pytest.raises(Exception, match=r"(?i)connect|closed|refused"):
        node.spend("k", 5, 0)
    own_redis.start()
    assert node.spend("k", 5, 0) == (True, 1), "Redis kept no data; the count restarts"
