"""Regular expressions for the HTTP API's durations, rates, networks, URLs and scopes.

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
#: How long a portal link lasts: 1 to 1440 minutes or 1 to 24 hours (``15m``, ``2h``).
PORTAL_TTL: Final = (
    r"^(([1-9]|[1-9][0-9]|[1-9][0-9]{2}|1[0-3][0-9]{2}|14[0-3][0-9]|1440)m|([1-9]|1[0-9]|2[0-4])h)$"
)
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

_PORT: Final = (
    r"([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
)
#: An absolute http(s) URL as ``urlsplit`` reads it: a host (a name, an IPv4 or a bracketed
#: IPv6 address without the embedded-IPv4 forms), a port, path and query; no credentials
#: (no ``@`` in the host), no ``#fragment``, no spaces.
HTTP_URL: Final = (
    r"^[hH][tT][tT][pP][sS]?://([A-Za-z0-9._~%!$&'()*+,;=-]+|\[("
    + _IPV6
    + r")\])"
    + f"(:{_PORT})?"
    + r"([/?][!-\"$-~]*)?$"
)

#: What a scope's two parts are made of (keyhive.core.scopes), lowercase letters aside.
_SCOPE_OTHERS: Final = "A-Z0-9_.\\-/"
_SCOPE_CHARS: Final = "a-z" + _SCOPE_OTHERS


def _lowercase_but(letter: str) -> str:
    """The range a-z without ``letter``, in character-class syntax."""
    before = "a" if letter == "b" else f"a-{chr(ord(letter) - 1)}" if letter > "a" else ""
    after = "z" if letter == "y" else f"{chr(ord(letter) + 1)}-z" if letter < "z" else ""
    return before + after


def _except_word(word: str, longest: int) -> str:
    """1 to ``longest`` scope characters, but never exactly the lowercase ``word``
    (without lookaround: another length, or first differing from ``word`` at some i)."""
    one = f"[{_SCOPE_CHARS}]"
    differing = [
        word[:i] + f"[{_lowercase_but(word[i])}{_SCOPE_OTHERS}]" + one + f"{{{len(word) - 1 - i}}}"
        for i in range(len(word))
    ]
    lengths = [f"{one}{{1,{len(word) - 1}}}", f"{one}{{{len(word) + 1},{longest}}}"]
    return "(" + "|".join(lengths + differing) + ")"


#: A scope that is not one of keyhive's own (``keyhive:...``): what a portal may grant.
GRANTABLE_SCOPE: Final = rf"^(\*|{_except_word('keyhive', 64)}:([{_SCOPE_CHARS}]{{1,64}}|\*))$"
