"""Signals from verification (credits running low, a rate limit hit), kept in memory and
written to the webhook outbox in batches.

Verification must not write to the database, so it only reports here: a dict insert,
and nothing at all for a signal this process reported in the same period already. A
background thread hands each batch to the writer every few seconds; the outbox's unique
(type, subject, period) makes the event once per period across nodes too. ``close``
writes what is left.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Final

from keyhive.core.webhooks import Signal
from keyhive.counters.flusher import Flusher
from keyhive.counters.ttl import TTLCache

log = logging.getLogger(__name__)

Write = Callable[[Sequence[Signal]], None]
#: At most this many signals wait for the writer; more are dropped (and logged once).
MAX_PENDING: Final = 10_000


class SignalBuffer:
    """Collects signals, each key once, until flushed."""

    def __init__(self, write: Write, interval: float = 2.0) -> None:
        self._write = write
        self._pending: dict[tuple[str, str, str], Signal] = {}
        # Keys passed on recently: a flood of refusals costs one lookup each.
        self._seen: TTLCache[tuple[str, str, str], bool] = TTLCache(50_000, 3600.0)
        self._lock = threading.Lock()
        self._flusher = Flusher(self.flush, interval, "keyhive-signals")
        self._dropping = False

    def report(self, signal: Signal) -> None:
        key = signal.key
        if self._seen.get(key) is not None:
            return
        with self._lock:
            if key in self._pending:
                return
            if len(self._pending) >= MAX_PENDING:
                if not self._dropping:
                    self._dropping = True
                    log.warning("webhook signals are not written fast enough; dropping some")
                return
            self._pending[key] = signal
        if self._flusher.thread is None:
            self._flusher.start()

    def pending(self) -> list[Signal]:
        with self._lock:
            return list(self._pending.values())

    def flush(self) -> None:
        """Write the batch now; on failure it goes back into the buffer."""
        with self._lock:
            batch, self._pending = self._pending, {}
        if not batch:
            return
        try:
            self._write(list(batch.values()))
        except Exception:
            with self._lock:
                for key, signal in batch.items():
                    self._pending.setdefault(key, signal)
            raise
        for key in batch:
            self._seen.put(key, True)
        self._dropping = False

    def close(self) -> None:
        """Stop the thread and write what is left."""
        self._flusher.stop()
        try:
            self.flush()
        except Exception as exc:  # closing must not fail over a lost signal
            log.warning("webhook signals not written on close: %s", type(exc).__name__)
