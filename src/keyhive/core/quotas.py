"""Rate limits (``100/minute``, named: ``burst=20/second``) and credits (a number of
verifications, optionally refilled every day or month): the policies a secret or an owner
carries. No I/O; the counters live in :mod:`keyhive.counters`.

A holder may carry several rate limits, each with a name that is unique among its
limits; an unnamed limit is called ``default``. Every limit counts a verification's
``cost`` (a verification of cost 5 takes five slots of each window, and five credits).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from keyhive.core.durations import parse_duration
from keyhive.core.errors import Conflict, InvalidInput

_NAMED: Final = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE_RE: Final = re.compile(r"\s*(\d{1,9})\s*(?:/|per)\s*(\w{1,20})\s*")
_NAME_RE: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
REFILLS: Final = ("day", "month")
_DAY: Final = timedelta(days=1)
Refill = Literal["day", "month"]
#: The name of a limit given without one (``--rate 100/minute``).
DEFAULT_NAME: Final = "default"
#: How many rate limits one secret or owner may carry.
MAX_LIMITS: Final = 8
#: The largest cost one verification may spend (a cost of 0 checks without spending).
MAX_COST: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``limit`` units (cost) in any window of ``window`` seconds (sliding)."""

    limit: int
    window: int
    name: str = DEFAULT_NAME

    @classmethod
    def parse(cls, text: object, name: str | None = None) -> RateLimit:
        """Read ``100/minute``, ``10 per second``, ``500/1h``, ``20/30s`` or a named
        ``burst=20/second``; ``name`` names an unnamed one (from a mapping's key)."""
        if not isinstance(text, str) or len(text) > 80:
            raise InvalidInput("rate limit must be text like 100/minute", field="rate")
        given, sep, rest = text.partition("=")
        if sep:
            if name is not None:
                raise InvalidInput("a named rate limit cannot carry a second name", field="rate")
            name, text = given.strip(), rest
        name = validate_limit_name(DEFAULT_NAME if name is None else name)
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
        return cls(count, window, name)

    @property
    def rate(self) -> str:
        """The rate without its name: ``100/minute``."""
        for unit, seconds in _NAMED.items():
            if seconds == self.window:
                return f"{self.limit}/{unit}"
        return f"{self.limit}/{self.window}s"

    def __str__(self) -> str:
        """``100/minute`` for the default limit, ``burst=20/second`` for a named one."""
        return self.rate if self.name == DEFAULT_NAME else f"{self.name}={self.rate}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "limit": self.limit, "window": self.window}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RateLimit:
        """A limit as stored (``to_dict``); raises InvalidInput for anything else."""
        try:
            limit, window, name = data["limit"], data["window"], data["name"]
        except (KeyError, TypeError):
            raise InvalidInput("a stored rate limit needs name, limit and window") from None
        if not (type(limit) is int and type(window) is int and limit >= 1 and window >= 1):
            raise InvalidInput("a stored rate limit has a bad limit or window")
        return cls(limit, window, validate_limit_name(name))


def validate_limit_name(name: object) -> str:
    """A limit's name: 1 to 32 of a-z, 0-9, ``_`` and ``-``, starting with a letter or digit."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidInput("a rate limit's name must be 1 to 32 of a-z, 0-9, _ and -", field="rate")
    return name


RateInput = str | RateLimit | Mapping[str, str] | list[str] | tuple[str, ...] | None


def parse_limits(value: object) -> tuple[RateLimit, ...]:
    """The named rate limits in ``value``: one string (``100/minute`` or ``burst=20/s``),
    a list of them, or a mapping of name to rate; None or empty: no limits.

    Names must be unique; the limits come back in the order given.
    """
    if value is None:
        return ()
    if isinstance(value, RateLimit):
        items: list[RateLimit] = [value]
    elif isinstance(value, str):
        items = [RateLimit.parse(value)]
    elif isinstance(value, Mapping):
        items = [RateLimit.parse(rate, str(name)) for name, rate in value.items()]
    elif isinstance(value, (list, tuple)):
        items = [v if isinstance(v, RateLimit) else RateLimit.parse(v) for v in value]
        items = _unnamed_by_position(items)
    else:
        raise InvalidInput("rate must be text, a list of texts or a mapping", field="rate")
    if len(items) > MAX_LIMITS:
        raise InvalidInput(f"at most {MAX_LIMITS} rate limits", field="rate")
    names = [item.name for item in items]
    if len(set(names)) != len(names):
        raise Conflict("two rate limits have one name: name each (burst=20/second)")
    return tuple(items)


def _unnamed_by_position(items: list[RateLimit]) -> list[RateLimit]:
    """Several unnamed limits in a list (``--rate 100/minute --rate 5000/day``) are
    ``default``, ``default-2``, ``default-3``...: given as a list, each is its own limit."""
    unnamed = 0
    named: list[RateLimit] = []
    for item in items:
        if item.name == DEFAULT_NAME:
            unnamed += 1
            if unnamed > 1:
                item = dataclasses.replace(item, name=f"{DEFAULT_NAME}-{unnamed}")
        named.append(item)
    return named


def limits_to_json(limits: tuple[RateLimit, ...]) -> list[dict[str, Any]] | None:
    """The stored form: a JSON list of ``{name, limit, window}`` (None for no limits)."""
    return [limit.to_dict() for limit in limits] or None


def limits_from_json(data: object) -> tuple[RateLimit, ...]:
    """Read the stored form back."""
    if not data:
        return ()
    if not isinstance(data, list):
        raise InvalidInput("stored rate limits must be a list")
    return tuple(RateLimit.from_dict(item) for item in data)


_REFILL_WORDS: Final = {"daily": "day", "monthly": "month"}


def validate_credits(credits: object, refill: object) -> tuple[int | None, Refill | None]:
    """Check a credit allowance (None: unlimited) and its refill period (None: never);
    ``daily`` and ``monthly`` are read as ``day`` and ``month``."""
    if credits is not None and (
        not isinstance(credits, int) or isinstance(credits, bool) or not 0 <= credits <= 10**15
    ):
        raise InvalidInput("credits must be a whole number from 0 to 10^15", field="credits")
    refill = _REFILL_WORDS.get(refill, refill) if isinstance(refill, str) else refill
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
