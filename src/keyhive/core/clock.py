"""An injectable clock, so expiry and grace periods are tested exactly, not by patching time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol


class Clock(Protocol):
    """Source of the current time: timezone-aware UTC datetimes."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


#: How long :class:`TickClock` hands out one reading again, in seconds.
TICK: Final = 0.001


class TickClock:
    """The wall clock read as a datetime at most once per millisecond, for verification.

    Every verification asks for the time (expiry, revocation, usage buckets), and building
    a datetime costs more than a cache hit's other checks; within a millisecond the same
    one is handed out again. It is the end of that millisecond, so a reading is never
    behind the real clock: a secret revoked a moment ago is refused at once, and an end
    comes at most a millisecond early (failing closed, never open). A clock set back is
    followed at once. Records keep the exact clock: two changes within a millisecond must
    not share a timestamp.
    """

    __slots__ = ("_last",)

    def __init__(self) -> None:
        #: (timestamp, datetime) of the last reading, swapped as one object so that
        #: threads never pair one reading's timestamp with another's datetime.
        self._last = (-1.0, datetime.now(UTC))

    def now(self) -> datetime:
        stamp = time.time()
        read_at, when = self._last
        if 0.0 <= stamp - read_at < TICK:
            return when
        when = datetime.fromtimestamp(stamp + TICK, UTC)
        self._last = (stamp, when)
        return when


def verification_clock(clock: Clock) -> Callable[[], datetime]:
    """How the verification path reads ``clock``: the real clock through a
    :class:`TickClock`, any other (a test's frozen one) exactly as given."""
    return TickClock().now if type(clock) is SystemClock else clock.now


class FrozenClock:
    """A clock that stands still until moved; for tests and simulations."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2030, 1, 1, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forward by ``delta`` (a timedelta or seconds) and return the new time."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self._lock:
            self._now += step
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when
