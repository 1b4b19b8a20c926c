"""Usage counts and last-used times, kept in memory and written to the store in batches.

A verification only bumps a counter in a dict; a background thread writes the batch
every few seconds, and ``close`` writes what is left, so a clean shutdown loses nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime

from keyhive.storage import Usage

Flush = Callable[[Mapping[str, Usage]], None]


class _Tally:
    __slots__ = ("count", "last")

    def __init__(self, count: int, last: datetime) -> None:
        self.count = count
        self.last = last


class UsageBuffer:
    """Accumulates ``(count, last_used_at)`` per secret id until flushed."""

    def __init__(self, flush: Flush, interval: float = 5.0) -> None:
        self._flush = flush
        self._interval = interval
        self._pending: dict[str, _Tally] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, secret_id: str, when: datetime) -> None:
        """Count one verification; starts the flusher thread on first use."""
        with self._lock:
            entry = self._pending.get(secret_id)
            if entry is None:
                self._pending[secret_id] = _Tally(1, when)
            else:
                entry.count += 1
                entry.last = max(entry.last, when)
        if self._thread is None:
            self._start()

    def pending(self) -> dict[str, Usage]:
        """A copy of what has not been written yet."""
        with self._lock:
            return {k: Usage(v.count, v.last) for k, v in self._pending.items()}

    def flush(self) -> None:
        """Write the batch now; on failure the counts go back into the buffer."""
        with self._lock:
            batch, self._pending = self._pending, {}
        if not batch:
            return
        usage = {k: Usage(v.count, v.last) for k, v in batch.items()}
        try:
            self._flush(usage)
        except Exception:
            with self._lock:
                for key, used in usage.items():
                    entry = self._pending.setdefault(key, _Tally(0, used.last_used_at))
                    entry.count += used.count
                    entry.last = max(entry.last, used.last_used_at)
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
