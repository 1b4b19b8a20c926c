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
