"""IP allowlists and the injectable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from keyhive.core.clock import FrozenClock, SystemClock
from keyhive.core.errors import InvalidInput
from keyhive.core.ipallow import MAX_NETWORKS, ip_allowed, normalize_networks


def test_networks_are_canonical_and_deduplicated() -> None:
    assert normalize_networks(None) == ()
    assert normalize_networks("10.1.2.3") == ("10.1.2.3/32",)
    assert normalize_networks(["10.0.0.1/8", "10.0.0.0/8", " ::1 "]) == ("10.0.0.0/8", "::1/128")


@pytest.mark.parametrize(
    "bad",
    [
        42,
        [42],
        ["x" * 65],
        ["300.1.1.1"],
        [f"10.0.{i // 256}.{i % 256}" for i in range(MAX_NETWORKS + 1)],
    ],
)
def test_bad_networks(bad: object) -> None:
    with pytest.raises(InvalidInput):
        normalize_networks(bad)


def test_matching() -> None:
    nets = normalize_networks(["10.0.0.0/8", "2001:db8::/32"])
    assert ip_allowed((), None), "no list allows every caller"
    assert ip_allowed(nets, "10.9.9.9")
    assert ip_allowed(nets, "::ffff:10.9.9.9"), "IPv4-mapped IPv6 counts as IPv4"
    assert not ip_allowed(nets, "11.0.0.1")
    assert not ip_allowed(nets, None)
    assert not ip_allowed(nets, 10)
    assert not ip_allowed(nets, "garbage")


def test_frozen_clock_moves_only_when_told() -> None:
    clock = FrozenClock(datetime(2031, 5, 1, tzinfo=UTC))
    assert clock.now() == clock.now()
    assert clock.advance(timedelta(hours=1)) == datetime(2031, 5, 1, 1, tzinfo=UTC)
    assert clock.advance(30) == datetime(2031, 5, 1, 1, 0, 30, tzinfo=UTC)
    clock.set(datetime(2040, 1, 1, tzinfo=UTC))
    assert clock.now().year == 2040
    with pytest.raises(ValueError, match="timezone-aware"):
        FrozenClock(datetime(2031, 5, 1))


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC


def test_system_clock_follows_the_real_clock_and_a_subclass_keeps_its_own_now() -> None:
    before = datetime.now(UTC)
    read = SystemClock().now()
    assert before <= read <= datetime.now(UTC)

    class Fixed(SystemClock):
        def now(self) -> datetime:
            return datetime(2001, 2, 3, tzinfo=UTC)

    assert Fixed().now() == datetime(2001, 2, 3, tzinfo=UTC)
