"""An injectable clock, so expiry and grace periods are tested exactly, not by patching time."""

from __future__ import annotations

import functools
import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Source of the current time: timezone-aware UTC datetimes."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def __init__(self) -> None:
        if type(self).now is SystemClock.now:
            # ``datetime.now(UTC)`` bound once: every verification reads the clock, and a
            # partial is called without the Python frame of the method below. A subclass
            # that overrides ``now`` keeps its own.
            self.now = functools.partial(datetime.now, UTC)  # type: ignore[method-assign]

    def now(self) -> datetime:
        return datetime.now(UTC)


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
