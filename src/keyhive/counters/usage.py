"""Usage counts and last-used times, kept in memory and written to the store in batches.

A verification only bumps a counter in a dict; a background thread writes the batch
every few seconds, and ``close`` writes what is left, so a clean shutdown loses nothing.
Owners' credit counters are recorded the same way, so their count survives a restart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime

from keyhive.core.model import Code
from keyhive.storage import Usage

Flush = Callable[[Mapping[str, Usage]], None]
FlushOwners = Callable[[Mapping[str, tuple[str, int]]], None]


class _Tally:
    __slots__ = ("count", "credits_period", "credits_used", "last")

    def __init__(self, count: int, last: datetime) -> None:
        self.count = count
        self.last = last
        self.credits_period: str | None = None
        self.credits_used = 0

    def usage(self) -> Usage:
        return Usage(self.count, self.last, self.credits_period, self.credits_used)


class UsageBuffer:
    """Accumulates ``(count, last_used_at)`` per secret id until flushed."""

    def __init__(
        self, flush: Flush, interval: float = 5.0, *, owners: FlushOwners | None = None
    ) -> None:
        self._flush = flush
        self._flush_owners = owners
        self._interval = interval
        self._pending: dict[str, _Tally] = {}
        self._owners: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(
        self,
        secret_id: str,
        when: datetime,
        code: Code = Code.VALID,
        credits_period: str | None = None,
        credits_used: int = 0,
    ) -> None:
        """Count one verification (and the credit counter it saw); starts the flusher.

        Only VALID answers count as uses of the secret.
        """
        if code is not Code.VALID:
            return
        with self._lock:
            entry = self._pending.get(secret_id)
            if entry is None:
                entry = self._pending[secret_id] = _Tally(1, when)
            else:
                entry.count += 1
                if when > entry.last:
                    entry.last = when
            if credits_period is not None:
                if entry.credits_period != credits_period:
                    entry.credits_period, entry.credits_used = credits_period, credits_used
                else:
                    entry.credits_used = max(entry.credits_used, credits_used)
        if self._thread is None:
            self._start()

    def add_owner_credits(self, owner: str, period: str, used: int) -> None:
        """Note an owner's credit counter (the highest count seen in a period wins)."""
        with self._lock:
            seen = self._owners.get(owner)
            if seen is None or seen[0] != period or seen[1] < used:
                self._owners[owner] = (period, used)
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
            owners, self._owners = self._owners, {}
        try:
            self._write(batch)
        finally:
            self._write_owners(owners)

    def _write_owners(self, owners: dict[str, tuple[str, int]]) -> None:
        if not owners or self._flush_owners is None:
            return
        try:
            self._flush_owners(owners)
        except Exception:
            with self._lock:
                for owner, seen in owners.items():
                    self._owners.setdefault(owner, seen)
            raise

    def _write(self, batch: dict[str, _Tally]) -> None:
        if not batch:
            return
        usage = {k: v.usage() for k, v in batch.items()}
        try:
            self._flush(usage)
        except Exception:
            with self._lock:
                for key, used in usage.items():
                    entry = self._pending.setdefault(key, _Tally(0, used.last_used_at))
                    entry.count += used.count
                    entry.last = max(entry.last, used.last_used_at)
                    if entry.credits_period is None and used.credits_period is not None:
                        entry.credits_period = used.credits_period
                        entry.credits_used = used.credits_used
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
