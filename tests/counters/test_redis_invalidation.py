"""Cache invalidation over Redis pub/sub between two KeyHive instances ("nodes").

Both share one store; their audit pollers are slowed to an hour, so only Redis can
carry a change from one to the other within the bound of 1 second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from keyhive import Code, KeyHive, Settings
from keyhive.counters.redis_changes import RedisInvalidator
from keyhive.storage import MemoryStore
from tests.infra import RedisServer

Node = tuple[KeyHive, RedisInvalidator]


def eventually(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def make_node() -> Iterator[Callable[[MemoryStore, str], Node]]:
    made: list[KeyHive] = []

    def make(store: MemoryStore, url: str) -> Node:
        invalidator = RedisInvalidator(url, retry=0.1)
        hive = KeyHive(
            settings=Settings(hashing_profile="cheapest", redis_url=url),
            store=store,
            change_interval=3600,
            invalidator=invalidator,
        )
        made.append(hive)
        assert invalidator.connected.wait(5)
        return hive, invalidator

    yield make
    for hive in made:
        hive.close()


def test_a_revoke_on_one_node_reaches_the_other_within_a_second(
    redis_url: str, make_node: Callable[[MemoryStore, str], Node]
) -> None:
    store = MemoryStore()
    (a, _), (b, _) = make_node(store, redis_url), make_node(store, redis_url)
    issued = a.issue_secret(a.create_client("c").client_id)
    assert b.verify(issued.token).valid  # now cached on b
    a.revoke(issued.secret_id)
    assert eventually(lambda: b.verify(issued.token).code is Code.REVOKED, 1.0)


def test_a_client_change_evicts_every_secret_of_the_client(
    redis_url: str, make_node: Callable[[MemoryStore, str], Node]
) -> None:
    store = MemoryStore()
    (a, _), (b, _) = make_node(store, redis_url), make_node(store, redis_url)
    client_id = a.create_client("c").client_id
    tokens = [a.issue_secret(client_id).token for _ in range(2)]
    assert all(b.verify(t).valid for t in tokens)
    a.disable_client(client_id)
    assert eventually(lambda: all(b.verify(t).code is Code.DISABLED for t in tokens), 1.0)


def test_reconnecting_clears_the_cache(
    own_redis: RedisServer, make_node: Callable[[MemoryStore, str], Node]
) -> None:
    """Messages sent while a node was cut off are lost, so a reconnect forgets everything."""
    store = MemoryStore()
    (a, _), (b, b_channel) = make_node(store, own_redis.url), make_node(store, own_redis.url)
    issued = a.issue_secret(a.create_client("c").client_id)
    assert b.verify(issued.token).valid
    assert b.cache is not None and len(b.cache) == 1
    own_redis.kill()
    own_redis.start()
    assert eventually(lambda: b.cache is not None and len(b.cache) == 0, 5.0)
    assert b_channel.connected.wait(5)
    assert b.verify(issued.token).valid
    a.revoke(issued.secret_id)
    assert eventually(lambda: b.verify(issued.token).code is Code.REVOKED, 1.0)


def test_while_redis_is_down_cached_secrets_verify_and_credits_fail_closed(
    own_redis: RedisServer,
) -> None:
    store = MemoryStore()
    hive = KeyHive(
        settings=Settings(hashing_profile="cheapest", redis_url=own_redis.url),
        store=store,
        change_interval=3600,
    )
    try:
        client_id = hive.create_client("c").client_id
        plain = hive.issue_secret(client_id)
        limited = hive.issue_secret(client_id, rate="3/minute")
        metered = hive.issue_secret(client_id, credits=10)
        assert all(hive.verify(i.token).valid for i in (plain, limited, metered))
        own_redis.kill()
        assert hive.verify(plain.token).valid
        codes = [hive.verify(limited.token).code for _ in range(4)]
        assert codes == [Code.VALID] * 3 + [Code.RATE_LIMITED], "counted locally meanwhile"
        refused = hive.verify(metered.token)
        assert refused.code is Code.USAGE_EXCEEDED and refused.remaining is None
        own_redis.start()
        assert eventually(lambda: hive.verify(metered.token).valid, 5.0)
    finally:
        hive.close()
