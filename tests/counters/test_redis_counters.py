"""Rate limits and credits counted in a real Redis, shared by several "nodes" (instances).

Each node is a separate meter with its own connection pool, so the only thing they share
is Redis, as on separate machines. (These checks ran against the single-limit counters
the meter replaced; they now run against the meter, which spends windows and credits
together.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from keyhive.counters.meter import RedisMeter
from keyhive.counters.protocols import Allowance, MeterUnavailable, Window
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


def _hit(node: RedisMeter, key: str, limit: int, window: int = 60, cost: int = 1) -> bool:
    return node.spend([Window(key, limit, window)], [], cost).refused is None


def _credit(node: RedisMeter, key: str, allowance: int, start: int, cost: int = 1) -> tuple:
    spent = node.spend([], [Allowance(key, allowance, start)], cost)
    return spent.refused is None, spent.used[0]


def test_rate_limit_across_nodes_admits_exactly_the_limit(redis_url: str) -> None:
    nodes = [RedisMeter(redis_url) for _ in range(NODES)]
    calls = [lambda n=n: _hit(n, "secret-a", 25) for n in nodes] * THREADS_PER_NODE
    assert hammer(calls, 5) == 25  # 60 attempts
    assert not _hit(nodes[0], "secret-a", 25)
    assert _hit(nodes[1], "secret-b", 25), "each secret has its own window"


def test_rate_limit_status_reports_the_shared_window(redis_url: str) -> None:
    first, second = RedisMeter(redis_url), RedisMeter(redis_url)
    window = [Window("k", 3, 60)]
    before = time.time()
    spends = [first.spend(window, [], 1), second.spend(window, [], 1), first.spend(window, [], 1)]
    assert [s.counts[0] for s in spends] == [1, 2, 3]
    refused = second.spend(window, [], 1)
    assert refused.refused == 0 and refused.counts == (3,)
    assert before < refused.resets[0] <= time.time() + 60


def test_without_redis_each_node_counts_its_own_share(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The documented fallback: while Redis is down, every node enforces the limit alone."""
    nodes = [RedisMeter(own_redis.url) for _ in range(2)]
    assert _hit(nodes[0], "k", 4)
    own_redis.kill()
    admitted = [sum(_hit(node, "k", 4) for _ in range(10)) for node in nodes]
    assert admitted == [4, 4]
    switches = [r for r in caplog.records if "counting rate limits locally" in r.getMessage()]
    assert len(switches) == 2, "one warning per node, not one per request"
    own_redis.start()
    shared = [_hit(nodes[i % 2], "fresh", 4) for i in range(10)]
    assert shared.count(True) == 4, "back on Redis, the nodes share one window again"


def test_credits_across_nodes_never_go_below_zero(redis_url: str) -> None:
    nodes = [RedisMeter(redis_url) for _ in range(NODES)]
    used_seen: list[int] = []

    def spend(node: RedisMeter) -> bool:
        spent, used = _credit(node, "secret:total@0", 100, 0)
        assert used <= 100
        if spent:
            used_seen.append(used)
        return spent

    calls = [lambda n=n: spend(n) for n in nodes] * THREADS_PER_NODE
    assert hammer(calls, 15) == 100  # 180 attempts
    assert sorted(used_seen) == list(range(1, 101)), "every credit is spent exactly once"
    assert _credit(nodes[0], "secret:total@0", 100, 0) == (False, 100)


def test_credits_continue_from_the_recorded_count(redis_url: str) -> None:
    """A counter missing from Redis starts at what the database recorded (``start``)."""
    node = RedisMeter(redis_url)
    assert _credit(node, "k", 10, 8) == (True, 9)
    assert _credit(node, "k", 10, 0) == (True, 10), "start matters only for a new counter"
    assert _credit(node, "k", 10, 0) == (False, 10)
    assert _credit(node, "k2", 10, 10) == (False, 10)
    assert _credit(node, "k3", 10, 7, cost=3) == (True, 10)


def test_credits_fail_closed_when_redis_is_down(own_redis: RedisServer) -> None:
    node = RedisMeter(own_redis.url)
    assert _credit(node, "k", 5, 0) == (True, 1)
    own_redis.kill()
    with pytest.raises(MeterUnavailable):
        _credit(node, "k", 5, 0)
    own_redis.start()
    assert _credit(node, "k", 5, 0) == (True, 1), "Redis kept no data; the count restarts"


def test_a_refusal_by_one_counter_spends_none_of_the_others(redis_url: str) -> None:
    """Windows and credits of one spend are all or nothing, with costs, across nodes."""
    a, b = RedisMeter(redis_url), RedisMeter(redis_url)
    windows = [Window("w-secret", 10, 60), Window("w-owner", 6, 60)]
    credits = [Allowance("c-owner", 100, 0)]
    assert a.spend(windows, credits, 5).refused is None
    refused = b.spend(windows, credits, 5)
    assert refused.refused == 1, "the owner's window (6) has room for 1, not 5"
    assert refused.counts == (5, 5) and refused.used == (5,), "nothing was spent"
    assert b.spend(windows, credits, 1).counts == (6, 6)
    over = a.spend([Window("w-secret", 10, 60)], [Allowance("c-small", 3, 0)], 4)
    assert over.refused == 1 and over.counts == (6,), "credits refused: the window kept"
