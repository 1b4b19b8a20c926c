"""Usage analytics as values: verifications per hour and per code, read back as series.

Counts are kept in hourly buckets (UTC); a day bucket is the sum of its 24 hours. Every
code but NOT_FOUND is attributable to a secret: NOT_FOUND means no secret matched, so
there is nobody to count it against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from keyhive.core.durations import parse_duration
from keyhive.core.errors import InvalidInput
from keyhive.core.model import Code

#: The codes counted per secret, in the order reports show them.
USAGE_CODES: Final = tuple(code for code in Code if code is not Code.NOT_FOUND)
Bucket = Literal["hour", "day"]
BUCKETS: Final = ("hour", "day")
_SIZE: Final = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
#: The longest period a series may span, per bucket size (bounded answers).
MAX_SPAN: Final = {"hour": timedelta(days=31), "day": timedelta(days=400)}


def hour_of(when: datetime) -> datetime:
    """The UTC hour that ``when`` falls in: the key of its bucket."""
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _floor(when: datetime, bucket: Bucket) -> datetime:
    hour = hour_of(when)
    return hour.replace(hour=0) if bucket == "day" else hour


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One stored bucket: verifications of one code in one hour (of one secret, or summed)."""

    hour: datetime
    code: Code
    count: int
    secret_id: str | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """The buckets a series covers: ``start`` (inclusive) to ``end`` (exclusive)."""

    start: datetime
    end: datetime
    bucket: Bucket

    @classmethod
    def ending_at(cls, now: datetime, since: timedelta | str, bucket: str) -> Window:
        """The buckets that cover ``since`` back from ``now``, the current one included.

        ``since`` is a duration (``7d``, ``24h``); it must be positive and at most 31
        days for hourly buckets, 400 days for daily ones.
        """
        if bucket not in BUCKETS:
            raise InvalidInput("bucket must be hour or day", field="bucket")
        size = _SIZE[bucket]
        span = parse_duration(since)
        if span <= timedelta(0):
            raise InvalidInput("since must be a positive duration, e.g. 7d", field="since")
        if span > MAX_SPAN[bucket]:
            days = MAX_SPAN[bucket].days
            raise InvalidInput(
                f"since must be at most {days}d with {bucket} buckets", field="since"
            )
        count = -(-span // size)  # ceiling division of timedeltas
        end = _floor(now, bucket) + size  # type: ignore[arg-type]
        return cls(end - count * size, end, bucket)  # type: ignore[arg-type]

    @property
    def size(self) -> timedelta:
        return _SIZE[self.bucket]

    def times(self) -> list[datetime]:
        """The start of every bucket, oldest first."""
        out, at = [], self.start
        while at < self.end:
            out.append(at)
            at += self.size
        return out


@dataclass(frozen=True, slots=True)
class UsageSeries:
    """Verifications per bucket for each attributable code, over one :class:`Window`.

    ``counts[code][i]`` is the count of ``code`` in the bucket starting at ``times[i]``;
    every code of :data:`USAGE_CODES` is present, with zeros where nothing happened.
    """

    window: Window
    times: tuple[datetime, ...]
    counts: Mapping[Code, tuple[int, ...]]

    @classmethod
    def from_rows(cls, window: Window, rows: Iterable[UsageRow]) -> UsageSeries:
        times = window.times()
        index = {at: i for i, at in enumerate(times)}
        grid = {code: [0] * len(times) for code in USAGE_CODES}
        for row in rows:
            slot = index.get(_floor(row.hour, window.bucket))
            if slot is not None and row.code in grid:
                grid[row.code][slot] += row.count
        return cls(window, tuple(times), {code: tuple(grid[code]) for code in USAGE_CODES})

    def total(self, code: Code | None = None) -> int:
        """Verifications of ``code`` over the window (of every code when None)."""
        if code is not None:
            return sum(self.counts.get(code, ()))
        return sum(sum(values) for values in self.counts.values())

    def totals(self) -> dict[Code, int]:
        return {code: sum(values) for code, values in self.counts.items()}

    def per_bucket(self) -> list[int]:
        """Verifications of every code together, per bucket."""
        return [sum(column) for column in zip(*self.counts.values(), strict=True)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.window.bucket,
            "start": _iso(self.window.start),
            "end": _iso(self.window.end),
            "times": [_iso(at) for at in self.times],
            "series": {code.value: list(values) for code, values in self.counts.items()},
            "totals": {code.value: total for code, total in self.totals().items()},
        }


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
