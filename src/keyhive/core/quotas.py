"""Rate limits (``100/minute``) and credits (a number of verifications, optionally refilled
every day or month): the policies a secret carries. No I/O; the counters live in
:mod:`keyhive.counters`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from keyhive.core.durations import parse_duration
from keyhive.core.errors import InvalidInput

_NAMED: Final = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE_RE: Final = re.compile(r"\s*(\d{1,9})\s*(?:/|per)\s*(\w{1,20})\s*")
REFILLS: Final = ("day", "month")
_DAY: Final = timedelta(days=1)
Refill = Literal["day", "month"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``limit`` verifications in any window of ``window`` seconds (sliding)."""

    limit: int
    window: int

    @classmethod
    def parse(cls, text: object) -> RateLimit:
        """Read ``100/minute``, ``10 per second``, ``500/1h`` or ``20/30s``."""
        if not isinstance(text, str) or len(text) > 40:
            raise InvalidInput("rate limit must be text like 100/minute", field="rate")
        match = _RATE_RE.fullmatch(text)
        if match is None:
            raise InvalidInput("rate limit must look like 100/minute or 20/30s", field="rate")
        count, unit = int(match.group(1)), match.group(2).lower().rstrip("s") or "s"
        if unit in _NAMED:
            window = _NAMED[unit]
        else:
            try:
                window = int(parse_duration(match.group(2)).total_seconds())
            except InvalidInput:
                raise InvalidInput(
                    "rate limit unit must be second, minute, hour, day or a duration like 30s",
                    field="rate",
                ) from None
        if count < 1 or not 1 <= window <= 86400 * 31:
            raise InvalidInput(
                "rate limit needs a positive count and a window up to 31 days", field="rate"
            )
        return cls(count, window)

    def __str__(self) -> str:
        for name, seconds in _NAMED.items():
            if seconds == self.window:
                return f"{self.limit}/{name}"
        return f"{self.limit}/{self.window}s"


def validate_credits(credits: object, refill: object) -> tuple[int | None, Refill | None]:
    """Check a credit allowance (None: unlimited) and its refill period (None: never)."""
    if credits is not None and (
        not isinstance(credits, int) or isinstance(credits, bool) or not 0 <= credits <= 10**15
    ):
        raise InvalidInput("credits must be a whole number from 0 to 10^15", field="credits")
    if refill is not None and refill not in REFILLS:
        raise InvalidInput("refill must be 'day' or 'month'", field="refill")
    if refill is not None and credits is None:
        raise InvalidInput("refill needs credits", field="refill")
    return credits, refill


def credit_period(refill: str | None, now: datetime, epoch: datetime | None) -> str:
    """The name of the counter that credits are spent from now.

    It changes when the allowance refills (each UTC day or month) and when an admin sets
    new credits (``epoch``), so both start a fresh count without touching old counters.
    """
    stamp = int(epoch.timestamp() * 1_000_000) if epoch is not None else 0
    if refill == "day":
        return f"d{now:%Y%m%d}@{stamp}"
    if refill == "month":
        return f"m{now:%Y%m}@{stamp}"
    return f"total@{stamp}"


def period_end(refill: str | None, now: datetime) -> datetime | None:
    """When the current period's allowance refills (None: never)."""
    if refill == "day":
        return now.replace(hour=0, minute=0, second=0, microsecond=0) + _DAY
    if refill == "month":
        first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return (
            first.replace(year=first.year + 1, month=1)
            if first.month == 12
            else first.replace(month=first.month + 1)
        )
    return None
