"""Human durations (``90d``, ``24h``, ``15m``, ``30s``, ``2w``) for expiry and grace periods."""

from __future__ import annotations

import re
from datetime import timedelta

from keyhive.errors import InvalidDuration

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d{1,9})([smhdw])")
_WHOLE = re.compile(r"(?:\d{1,9}[smhdw]){1,5}")
_LIMIT = timedelta(days=365 * 100)


def parse_duration(text: object) -> timedelta:
    """Read ``90d``, ``24h``, ``1h30m`` or a bare number of seconds into a timedelta."""
    if isinstance(text, timedelta):
        return text
    if not isinstance(text, str) or not text or len(text) > 64:
        raise InvalidDuration("duration must be text like 90d, 24h, 15m or 30s")
    value = text.strip().lower()
    if value.isdigit():
        seconds = int(value)
    elif _WHOLE.fullmatch(value):
        seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(value))
    else:
        raise InvalidDuration(
            f"cannot read duration {text[:20]!r}: use forms like 90d, 24h, 15m, 30s"
        )
    result = timedelta(seconds=seconds)
    if result > _LIMIT:
        raise InvalidDuration("duration is longer than 100 years")
    return result


def format_duration(delta: timedelta) -> str:
    """The shortest exact form of ``delta`` in the units parse_duration reads."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
