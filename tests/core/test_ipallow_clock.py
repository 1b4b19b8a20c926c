"""IP allowlists and the injectable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from keyhive.core import clock as clock_module
from keyhive.core.clock import FrozenClock, SystemClock, TickClock, verification_clock
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


def test_the_verification_clock_reuses_a_reading_for_at_most_a_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One datetime per millisecond, the end of it (never behind the real clock), and a
    clock set back is followed at once (it is not held at the later reading)."""
    stamps = iter([1_000.0, 1_000.0004, 1_000.0011, 999.0, 999.0002])
    monkeypatch.setattr(clock_module.time, "time", lambda: next(stamps))
    clock = TickClock()
    first = clock.now()
    assert first == datetime.fromtimestamp(1_000.001, UTC)
    assert clock.now() is first  # 0.4 ms later: the same reading, still ahead
    assert clock.now() == datetime.fromtimestamp(1_000.0021, UTC)  # past the tick
    assert clock.now() == datetime.fromtimestamp(999.001, UTC)  # set back: followed
    assert clock.now() == datetime.fromtimestamp(999.001, UTC)
    assert clock_module.TICK == 0.001


def test_records_keep_the_exact_clock_and_tests_their_own() -> None:
    """Only the real clock is read in ticks; a frozen clock is read as it stands."""
    frozen = FrozenClock()
    assert verification_clock(frozen) == frozen.now
    assert isinstance(getattr(verification_clock(SystemClock()), "__self__", None), TickClock)
    exact = SystemClock()
    assert exact.now() is not exact.now()  # each reading its own, never one handed out again
