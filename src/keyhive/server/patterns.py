"""Regular expressions for the HTTP API's durations, rates and networks.

Each is a subset of what the library reads (``parse_duration``, ``RateLimit.parse``,
``normalize_networks``), cut so that every string it allows is also within the
library's limits: a duration stays under 100 years, a rate window under 31 days. The
request models enforce them, and the OpenAPI document states them, so a client (or a
fuzzer) can tell from the document alone what the server accepts. They use no
lookaround: JSON Schema validators, Python's ``re`` and pydantic's engine read them alike.
"""

from __future__ import annotations

from typing import Final

# Each unit at most once, largest first, without leading zeros. The largest value,
# 999w9999d99999h9999999m99999999s, is about 80 years.
_UNITS: Final = (
    r"[1-9][0-9]{0,2}w",
    r"[1-9][0-9]{0,3}d",
    r"[1-9][0-9]{0,4}h",
    r"[1-9][0-9]{0,6}m",
    r"[1-9][0-9]{0,7}s",
)
_SECONDS: Final = r"[1-9][0-9]{0,8}"


def _ordered() -> str:
    """One or more of the units, in order: each alternative starts with a present unit."""
    return "|".join(
        first + "".join(f"({later})?" for later in _UNITS[i + 1 :])
        for i, first in enumerate(_UNITS)
    )


#: A positive duration (``expires_in``).
EXPIRY: Final = f"^({_SECONDS}|{_ordered()})$"
#: A duration or none at all (``grace``).
GRACE: Final = f"^(0|0s|{_SECONDS}|{_ordered()})$"
#: ``N/unit`` with a named unit, or a window of seconds, minutes, hours or days (<= 31 d).
RATE: Final = (
    r"^[1-9][0-9]{0,8}/(second|minute|hour|day|[1-9][0-9]{0,5}s|[1-9][0-9]{0,3}m"
    r"|[1-9][0-9]?h|[1-9]d|[12][0-9]d|3[01]d)$"
)

#: The name of one of several rate limits (``burst``), as keyhive.core.quotas reads it.
LIMIT_NAME: Final = r"^[a-z0-9][a-z0-9_-]{0,31}$"
#: A rate limit, optionally named: ``burst=20/second``.
NAMED_RATE: Final = r"^([a-z0-9][a-z0-9_-]{0,31}=)?" + RATE[1:]

_OCTET: Final = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4: Final = rf"{_OCTET}(\.{_OCTET}){{3}}"
_H: Final = r"[0-9a-fA-F]{1,4}"
_IPV6: Final = "|".join(
    (
        rf"({_H}:){{7}}{_H}",
        rf"({_H}:){{1,7}}:",
        rf"({_H}:){{1,6}}:{_H}",
        rf"({_H}:){{1,5}}(:{_H}){{1,2}}",
        rf"({_H}:){{1,4}}(:{_H}){{1,3}}",
        rf"({_H}:){{1,3}}(:{_H}){{1,4}}",
        rf"({_H}:){{1,2}}(:{_H}){{1,5}}",
        rf"{_H}:(:{_H}){{1,6}}",
        rf":((:{_H}){{1,7}}|:)",
    )
)
#: An IPv4 or IPv6 network in CIDR notation; a bare address is one host.
NETWORK: Final = (
    rf"^({_IPV4}(/(3[0-2]|[12]?[0-9]))?|({_IPV6})(/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)$"
)
