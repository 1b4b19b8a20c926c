"""Usage counts and last-used times, kept in memory and written to the store in batches.

A verification only bumps a counter in a dict; a background thread writes the batch
every few seconds, and ``close`` writes what is left, so a clean shutdown loses nothing.
Each batch also carries the hourly counts per code (usage analytics), so they cost no
write of their own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from keyhive.core.model import Code
from keyhive.core.usage import hour_of
from keyhive.storage import Usage

_HOUR = timedelta(hours=1)

Flush = Callable[[Mapping[str, Usage]], None]


class _Tally:
    __slots__ = ("codes", "count", "credits_period", "credits_used", "last")

    def __init__(self, count: int, last: datetime | None) -> None:
        self.count = count  # VALID verifications (usage_count)
        self.last = last  # the latest VALID one (last_used_at)
        self.credits_period: str | None = None
        self.credits_used = 0
        self.codes: dict[tuple[datetime, Code], int] = {}

    def usage(self) -> Usage:
        return Usage(
            self.count, self.last, self.credits_period, self.credits_used, dict(self.codes)
        )

    def merge(self, used: Usage) -> None:
        """Take back a batch that could not be written."""
        self.count += used.count
        if used.last_used_at is not None and (self.last is None or used.last_used_at > self.last):
            self.last = used.last_used_at
        if self.credits_period is None and used.credits_period is not None:
            self.credits_period = used.credits_period
            self.credits_used = used.credits_used
        for key, n in used.codes.items():
            self.codes[key] = self.codes.get(key, 0) + n


class UsageBuffer:
    """Accumulates, per secret id, VALID counts, last use and hourly counts per code."""

    def __init__(self, flush: Flush, interval: float = 5.0) -> None:
        self._flush = flush
        self._interval = interval
        self._pending: dict[str, _Tally] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The hour bucket of the latest verification: nearly every call falls in it.
        self._hour: datetime | None = None
        self._hour_end: datetime | None = None

    def add(
        self,
        secret_id: str,
        when: datetime,
        code: Code,
        credits_period: str | None = None,
        credits_used: int = 0,
    ) -> None:
        """Count one verdict for a matched secret (and the credit counter it saw).

        VALID also counts towards usage_count and last_used_at; every code counts in its
        hourly bucket. Starts the flusher on first use.
        """
        hour, end = self._hour, self._hour_end
        if hour is None or end is None or not hour <= when < end:
            hour = hour_of(when)
            self._hour, self._hour_end = hour, hour + _HOUR
        with self._lock:
            entry = self._pending.get(secret_id)
            if entry is None:
                entry = self._pending[secret_id] = _Tally(0, None)
            key = (hour, code)
            entry.codes[key] = entry.codes.get(key, 0) + 1
            if code is Code.VALID:
                entry.count += 1
                if entry.last is None or when > entry.last:
                    entry.last = when
            if credits_period is not None:
                if entry.credits_period != credits_period:
                    entry.credits_period, entry.credits_used = credits_period, credits_used
                else:
                    entry.credits_used = max(entry.credits_used, credits_used)
        if self._thread is None:
            self._start()

    def pending(self) -> dict[str, Usage]:
        """A copy of what has not been written yet."""
        with self._lock:
            return {k: v.usage() for k, v in self._pending.items()}

    def flush(self) -> None:
        """Write the batch now; on failure the counts go back into the buffer."""
        with self._lock:
            batch, self._pending = self._pending, {}
        if not batch:
            return
        usage = {k: v.usage() for k, v in batch.items()}
        try:
            self._flush(usage)
        except Exception:
            with self._lock:
                for key, used in usage.items():
                    self._pending.setdefault(key, _Tally(0, None)).merge(used)
            raise

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._run, name="keyhive-usage", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:  # noqa: S112 - kept for the next round; the store may be back
                continue

    def close(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._interval + 1)
        self.flush()
