"""Usage analytics in the service: verifications per secret, hour and code, read back as
series for the API, the CLI and the dashboard.

The counts are written by the usage buffer (:mod:`keyhive.counters.usage`), with no
database write per verification; these reads flush this process's pending counts
first, so an answer includes them, and other nodes' arrive with their next flush.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from keyhive.core.usage import UsageRow, UsageSeries, Window
from keyhive.service.secrets import SecretLifecycle

log = logging.getLogger(__name__)


class UsageAnalytics(SecretLifecycle):
    """``usage``, ``client_usage``, ``total_usage`` and ``secrets_usage``."""

    def usage(
        self, secret_id: str, since: timedelta | str = "7d", bucket: str = "hour"
    ) -> UsageSeries:
        """Verifications of one secret per ``bucket`` (hour or day) and code over ``since``.

        This process's pending counts are written first, so the answer includes them;
        other nodes' arrive with their next flush (seconds).
        """
        self.get_secret(secret_id)
        window = Window.ending_at(self.clock.now(), since, bucket)
        self._flush_for_reading()
        rows = self.store.usage_rows(since=window.start, secret_id=secret_id)
        return series(window, rows)

    def client_usage(
        self, client_id: str, since: timedelta | str = "7d", bucket: str = "hour"
    ) -> UsageSeries:
        """Verifications of all of a client's secrets together, as :meth:`usage`."""
        self.get_client(client_id)
        window = Window.ending_at(self.clock.now(), since, bucket)
        self._flush_for_reading()
        rows = self.store.usage_rows(since=window.start, client_id=client_id)
        return series(window, rows)

    def total_usage(self, since: timedelta | str = "24h", bucket: str = "hour") -> UsageSeries:
        """Verifications of every secret together, as :meth:`usage`."""
        window = Window.ending_at(self.clock.now(), since, bucket)
        self._flush_for_reading()
        return series(window, self.store.usage_rows(since=window.start))

    def secrets_usage(
        self, client_id: str, since: timedelta | str = "7d", bucket: str = "hour"
    ) -> dict[str, UsageSeries]:
        """One series per secret of a client that was used in the window (for sparklines)."""
        self.get_client(client_id)
        window = Window.ending_at(self.clock.now(), since, bucket)
        self._flush_for_reading()
        rows = self.store.usage_rows(since=window.start, client_id=client_id, per_secret=True)
        return per_secret(window, rows)

    def _flush_for_reading(self) -> None:
        """Write pending counts before a read; if the store cannot take them, they stay."""
        try:
            self._usage.flush()
        except Exception as exc:
            log.warning("usage flush before a read failed: %s", type(exc).__name__)


def series(window: Window, rows: list[UsageRow]) -> UsageSeries:
    return UsageSeries.from_rows(window, rows)


def per_secret(window: Window, rows: list[UsageRow]) -> dict[str, UsageSeries]:
    """One series per secret from rows read with ``per_secret=True``."""
    grouped: dict[str, list[UsageRow]] = {}
    for row in rows:
        if row.secret_id is not None:
            grouped.setdefault(row.secret_id, []).append(row)
    return {sid: UsageSeries.from_rows(window, found) for sid, found in grouped.items()}
