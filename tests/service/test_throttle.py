"""Failed attempts are counted and slowed down; a correct credential always passes."""

from __future__ import annotations

from keyhive import Code, KeyHive, Settings
from keyhive.counters.throttle import FailureThrottle
from tests.service.test_verify import forged


def test_throttle_engages_and_releases() -> None:
    now = [0.0]
    throttle = FailureThrottle(limit=3, window=60, monotonic=lambda: now[0])
    hive = KeyHive("memory://", settings=Settings(hashing_profile="cheapest"), throttle=throttle)
    issued = hive.issue_secret(hive.create_client("c").client_id)
    assert hive.verify(issued.token).valid  # cached before the attack
    bad = forged(issued.token)
    for _ in range(3):
        assert hive.verify(bad).retry_after is None
    blocked = hive.verify(bad)
    assert blocked.code is Code.NOT_FOUND and blocked.retry_after is not None
    assert 0 < blocked.retry_after <= 60
    assert hive.verify(issued.token).valid, "cached legitimate traffic keeps passing"
    uncached = KeyHive("memory://", store=hive.store, throttle=throttle, settings=hive.settings)
    assert uncached.verify(issued.token).valid, "guesses at a public id never lock out its holder"
    assert uncached.verify(bad).retry_after is not None, "the guesses stay slowed down"
    now[0] = 60.0
    assert uncached.verify(bad).retry_after is None, "the throttle releases after its window"
    uncached.close()
    hive.close()


def test_ip_throttle_covers_other_ids() -> None:
    throttle = FailureThrottle(limit=2, window=60)
    hive = KeyHive("memory://", settings=Settings(hashing_profile="cheapest"), throttle=throttle)
    client = hive.create_client("c").client_id
    tokens = [hive.issue_secret(client).token for _ in range(3)]
    hive.verify(forged(tokens[0]), ip="10.0.0.9")
    hive.verify(forged(tokens[1]), ip="10.0.0.9")
    assert hive.verify(forged(tokens[2]), ip="10.0.0.9").retry_after is not None
    assert hive.verify(forged(tokens[2]), ip="10.0.0.10").retry_after is None
    assert hive.verify(tokens[2], ip="10.0.0.9").valid, "a correct token passes from anywhere"
    hive.close()


def test_pair_failures_are_throttled_per_client() -> None:
    throttle = FailureThrottle(limit=2, window=60)
    hive = KeyHive("memory://", settings=Settings(hashing_profile="cheapest"), throttle=throttle)
    hive.verify_pair("client-x", "wrong")
    hive.verify_pair("client-x", "wrong")
    assert hive.verify_pair("client-x", "wrong").retry_after is not None
    assert hive.verify_pair("client-y", "wrong").retry_after is None
    hive.close()


def test_fail_counts_every_key_and_answers_what_retry_after_said_before() -> None:
    """``fail`` (one lock for an attempt's keys) agrees with ``retry_after`` then
    ``failed`` for each key, over limits, windows and keys sharing an attempt."""
    now = [0.0]
    one = FailureThrottle(limit=3, window=10, monotonic=lambda: now[0])
    other = FailureThrottle(limit=3, window=10, monotonic=lambda: now[0])
    attempts = [("id:a", "ip:1"), ("id:a",), ("id:b", "ip:1"), ("ip:1",), ("id:a", "ip:2")]
    engaged = 0
    for step in range(60):
        keys = attempts[step % len(attempts)]
        expected = next((w for w in map(one.retry_after, keys) if w is not None), None)
        for key in keys:
            one.failed(key)
        assert other.fail(keys) == expected
        engaged += expected is not None
        now[0] += 0.7
    assert other.retry_after("id:a") == one.retry_after("id:a")
    assert 10 < engaged < 50  # the walk went through throttled and released windows
