"""Usage counts and last-used times, kept in memory and written to the store in batches.

A verification only bumps a counter in a dict; a background thread writes the batch
every few seconds, and ``close`` writes what is left, so a clean shutdown loses nothing.
Each batch also carries the hourly counts per code (usage analytics), so they cost no
write of their own. Owners' credit counters are recorded the same way, so their count
survives a restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Final

from keyhive.core.clock import Clock
from keyhive.core.model import Code
from keyhive.core.usage import hour_of
from keyhive.counters.flusher import Flusher
from keyhive.storage import Store, Usage

log = logging.getLogger(__name__)
_HOUR = timedelta(hours=1)
#: How often expired usage buckets are deleted, at most.
PRUNE_EVERY: Final = timedelta(hours=1)
_VALID = Code.VALID
#: Before any time: "none yet", without a None check on the path of every verification.
NEVER: Final = datetime.min.replace(tzinfo=UTC)

Flush = Callable[[Mapping[str, Usage]], None]
FlushOwners = Callable[[Mapping[str, tuple[str, int]]], None]


class _Tally:
    """One secret's counts since the last flush.

    VALID verdicts, nearly all the traffic, cost what they cost before usage analytics:
    ``count`` goes up, and the hour is looked at only when ``when`` passes the end of
    the hour being counted (``hour_end``). VALID of the current hour is ``count`` less
    what was moved to ``codes`` (``moved``); other codes go to ``codes`` directly.
    """

    __slots__ = (
        "codes",
        "count",
        "credits_period",
        "credits_used",
        "hour",
        "hour_end",
        "last",
        "moved",
    )

    def __init__(self) -> None:
        self.count = 0  # VALID verifications (usage_count)
        self.last = NEVER  # the latest VALID one (last_used_at); NEVER: none yet
        self.credits_period: str | None = None
        self.credits_used = 0
        self.hour = NEVER  # the hour VALID is counted for (NEVER: none yet)
        self.hour_end = NEVER
        self.moved = 0  # VALID already in codes
        self.codes: dict[tuple[datetime, Code], int] = {}

    def bump(self, key: tuple[datetime, Code], n: int) -> None:
        self.codes[key] = self.codes.get(key, 0) + n

    def roll(self, when: datetime) -> None:
        """The first VALID of a later hour: the current hour's count joins ``codes``.

        Called after ``count`` counted ``when``, so that one stays with the new hour.
        """
        current = self.count - 1 - self.moved
        if self.hour is not NEVER and current:
            self.bump((self.hour, _VALID), current)
        self.moved += current
        self.hour = hour_of(when)
        self.hour_end = self.hour + _HOUR

    def late(self, when: datetime) -> None:
        """A VALID of an earlier hour, arriving after a later one (threads race)."""
        self.bump((hour_of(when), _VALID), 1)
        self.moved += 1

    def usage(self) -> Usage:
        codes = dict(self.codes)
        current = self.count - self.moved
        if self.hour is not NEVER and current:
            key = (self.hour, _VALID)
            codes[key] = codes.get(key, 0) + current
        last = None if self.last is NEVER else self.last
        return Usage(self.count, last, self.credits_period, self.credits_used, codes)

    def merge(self, used: Usage) -> None:
        """Take back a batch that could not be written."""
        self.count += used.count
        self.moved += used.count  # its VALID counts are all in used.codes
        if used.last_used_at is not None and used.last_used_at > self.last:
            self.last = used.last_used_at
        if self.credits_period is None and used.credits_period is not None:
            self.credits_period = used.credits_period
            self.credits_used = used.credits_used
        for key, n in used.codes.items():
            self.bump(key, n)


class UsageBuffer:
    """Accumulates, per secret id, VALID counts, last use and hourly counts per code."""

    def __init__(
        self, flush: Flush, interval: float = 5.0, *, owners: FlushOwners | None = None
    ) -> None:
        self._flush = flush
        self._flush_owners = owners
        self._pending: dict[str, _Tally] = {}
        self._owners: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()
        self._flusher = Flusher(self.flush, interval, "keyhive-usage")
        # The hour bucket of the latest refusal: nearly every one falls in it.
        self._hour: datetime | None = None
        self._hour_end: datetime | None = None

    def add(
        self,
        secret_id: str,
        when: datetime,
        code: Code = Code.VALID,
        credits_period: str | None = None,
        credits_used: int = 0,
    ) -> None:
        """Count one verdict for a matched secret (and the credit counter it saw).

        VALID also counts towards usage_count and last_used_at; every code counts in its
        hourly bucket. Starts the flusher on first use.
        """
        with self._lock:
            entry = self._pending.get(secret_id)
            if entry is None:
                entry = self._pending[secret_id] = _Tally()
            if code is _VALID:
                entry.count += 1
                if when > entry.last:
                    entry.last = when
                    if when >= entry.hour_end:
                        entry.roll(when)
                elif when < entry.hour:
                    entry.late(when)
            else:
                entry.bump((self._hour_of(when), code), 1)
            if credits_period is not None:
                if entry.credits_period != credits_period:
                    entry.credits_period, entry.credits_used = credits_period, credits_used
                else:
                    entry.credits_used = max(entry.credits_used, credits_used)
        if self._flusher.thread is None:
            self._flusher.start()

    def _hour_of(self, when: datetime) -> datetime:
        hour, end = self._hour, self._hour_end
        if hour is None or end is None or not hour <= when < end:
            hour = hour_of(when)
            self._hour, self._hour_end = hour, hour + _HOUR
        return hour

    def add_owner_credits(self, owner: str, period: str, used: int) -> None:
        """Note an owner's credit counter (the highest count seen in a period wins)."""
        with self._lock:
            seen = self._owners.get(owner)
            if seen is None or seen[0] != period or seen[1] < used:
                self._owners[owner] = (period, used)
        if self._flusher.thread is None:
            self._flusher.start()

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
                    self._pending.setdefault(key, _Tally()).merge(used)
            raise

    def close(self) -> None:
        """Stop the thread and write what is left."""
        self._flusher.stop()
        self.flush()


class UsageRecorder:
    """Writes usage batches; prunes expired buckets at flush time, at most once an hour."""

    def __init__(self, store: Store, clock: Clock, retention: timedelta) -> None:
        self._store = store
        self._clock = clock
        self._retention = retention
        self._next_prune: datetime | None = None

    def __call__(self, usage: Mapping[str, Usage]) -> None:
        self._store.record_usage(usage)
        self.prune_if_due()

    def prune_if_due(self) -> None:
        """Delete buckets of hours wholly past the retention, unless done within the hour.

        A failure is logged and tried again next hour: the batch itself was written,
        so it must not go back into the buffer.
        """
        now = self._clock.now()
        if self._next_prune is not None and now < self._next_prune:
            return
        self._next_prune = now + PRUNE_EVERY
        try:
            self._store.prune_usage(hour_of(now - self._retention))
        except Exception as exc:
            log.warning("could not prune usage buckets: %s", type(exc).__name__)
