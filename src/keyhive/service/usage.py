"""Usage analytics in the service: writing batches with retention, reading series back.

The usage buffer hands each batch to :class:`UsageRecorder`, which writes it and, at most
once an hour, deletes buckets older than the retention; reads turn the store's hourly
rows into a :class:`~keyhive.core.usage.UsageSeries`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from keyhive.core.clock import Clock
from keyhive.core.usage import UsageRow, UsageSeries, Window, hour_of
from keyhive.storage import Store, Usage

log = logging.getLogger(__name__)
PRUNE_EVERY: Final = timedelta(hours=1)


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


def series(window: Window, rows: list[UsageRow]) -> UsageSeries:
    return UsageSeries.from_rows(window, rows)


def per_secret(window: Window, rows: list[UsageRow]) -> dict[str, UsageSeries]:
    """One series per secret from rows read with ``per_secret=True``."""
    grouped: dict[str, list[UsageRow]] = {}
    for row in rows:
        if row.secret_id is not None:
            grouped.setdefault(row.secret_id, []).append(row)
    return {sid: UsageSeries.from_rows(window, found) for sid, found in grouped.items()}
