"""Hourly usage buckets in memory: the reference behaviour of the SQL buckets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from keyhive.core.model import Code
from keyhive.core.usage import UsageRow
from keyhive.storage._protocol import Usage


class UsageBuckets:
    """Counts keyed by (secret_id, hour, code); the caller holds the store's lock."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, datetime, Code], int] = {}

    def add(self, usage: Mapping[str, Usage]) -> None:
        for secret_id, used in usage.items():
            for (hour, code), count in used.codes.items():
                key = (secret_id, hour, code)
                self._counts[key] = self._counts.get(key, 0) + count

    def rows(
        self,
        *,
        since: datetime,
        owner_of: Callable[[str], str | None],
        secret_id: str | None = None,
        client_id: str | None = None,
        per_secret: bool = False,
    ) -> list[UsageRow]:
        """As :func:`keyhive.storage.usage_sql.read_rows`; ``owner_of`` maps a secret to its
        client_id."""
        summed: dict[tuple[datetime, Code, str | None], int] = {}
        for (sid, hour, code), count in self._counts.items():
            if hour < since or (secret_id is not None and sid != secret_id):
                continue
            if client_id is not None and owner_of(sid) != client_id:
                continue
            key = (hour, code, sid if per_secret else None)
            summed[key] = summed.get(key, 0) + count
        return [UsageRow(h, c, n, s) for (h, c, s), n in sorted(summed.items(), key=_order)]

    def prune(self, before: datetime) -> int:
        old = [key for key in self._counts if key[1] < before]
        for key in old:
            del self._counts[key]
        return len(old)


def _order(item: tuple[tuple[datetime, Code, str | None], int]) -> tuple[datetime, str, str]:
    (hour, code, sid), _ = item
    return hour, code.value, sid or ""
