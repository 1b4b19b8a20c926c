"""Human durations (``90d``, ``24h``, ``15m``, ``30s``, ``2w``) for expiry and grace periods."""

from __future__ import annotations

import re
from datetime import timedelta

from keyhive.core.echo import excerpt
from keyhive.core.errors import InvalidDuration

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# ASCII digits only: str.isdigit() and a Unicode \d also accept superscripts and other
# scripts' digits, which int() rejects or reads unexpectedly.
_SECONDS = re.compile(r"[0-9]+")
_PART = re.compile(r"([0-9]{1,9})([smhdw])")
_WHOLE = re.compile(r"(?:[0-9]{1,9}[smhdw]){1,5}")
_LIMIT = timedelta(days=365 * 100)
_LIMIT_SECONDS = int(_LIMIT.total_seconds())


def parse_duration(text: object) -> timedelta:
    """Read ``90d``, ``24h``, ``1h30m`` or a bare number of seconds into a timedelta.

    A timedelta passes through if it lies between zero and 100 years, the range text can
    express; anything else raises InvalidDuration (never OverflowError on later arithmetic).
    """
    if isinstance(text, timedelta):
        if text < timedelta(0):
            raise InvalidDuration("duration must not be negative")
        if text > _LIMIT:
            raise InvalidDuration("duration is longer than 100 years")
        return text
    if not isinstance(text, str) or not text or len(text) > 64:
        raise InvalidDuration("duration must be text like 90d, 24h, 15m or 30s")
    value = text.strip().lower()
    if _SECONDS.fullmatch(value):
        seconds = int(value)
    elif _WHOLE.fullmatch(value):
        seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(value))
    else:
        raise InvalidDuration(
            f"cannot read duration {excerpt(text)}: use forms like 90d, 24h, 15m, 30s"
        )
    # Compare as integers: timedelta() itself overflows long before 64 digits.
    if seconds > _LIMIT_SECONDS:
        raise InvalidDuration("duration is longer than 100 years")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest exact form of ``delta`` in whole seconds, in the units parse_duration reads.

    A negative delta gets a leading ``-`` (which parse_duration does not read back).
    """
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)
