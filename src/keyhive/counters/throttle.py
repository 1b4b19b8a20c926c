"""Counting failed attempts per secret id, client id and caller address.

A key whose failures in the current window pass the limit is *slowed*, never refused:
its wrong answers carry a wait (the hot routes answer them late, a tarpit), and checks
that still need a slow hash run in a narrow lane, so a flood of guesses cannot occupy
every worker. A correct credential matches before the throttle is asked, so an attacker
who knows a public id cannot lock its holder out. Counters are per fixed window and
bounded in number; unknown ids count like known ones, so throttling reveals nothing.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class FailureThrottle:
    """Counts failures per key in fixed windows; ``retry_after`` says when a key may try again."""

    def __init__(
        self,
        limit: int = 10,
        window: float = 60.0,
        *,
        max_keys: int = 100_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._monotonic = monotonic
        self._counts: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float | None:
        """Seconds until ``key`` may try again, or None if it is not throttled."""
        with self._lock:
            found = self._counts.get(key)
        if found is None:
            return None
        start, count = found
        left = start + self.window - self._monotonic()
        if left <= 0 or count < self.limit:
            return None
        return left

    def failed(self, key: str) -> None:
        """Count one failure for ``key``."""
        self.fail((key,))

    def fail(self, keys: tuple[str, ...]) -> float | None:
        """Count one failure for each of ``keys``; returns the wait the first throttled
        one was under before this failure (what ``retry_after`` said), or None.

        One lock and one clock read for all of an attempt's keys: a wrong guess is the
        path an attacker drives, so it is kept short.
        """
        now = self._monotonic()
        wait: float | None = None
        with self._lock:
            counts = self._counts
            for key in keys:
                start, count = counts.pop(key, (now, 0))
                left = start + self.window - now
                if left <= 0:
                    start, count = now, 0
                elif count >= self.limit and wait is None:
                    wait = left
                counts[key] = (start, count + 1)
            while len(counts) > self.max_keys:
                counts.popitem(last=False)
        return wait
