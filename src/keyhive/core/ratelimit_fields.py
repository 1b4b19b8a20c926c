"""The RateLimit header fields as drafted today (draft-ietf-httpapi-ratelimit-headers-10
and later): ``RateLimit-Policy`` and ``RateLimit``, two structured-field Lists with one
member per named limit, for the HTTP service and every integration alike.

``RateLimit-Policy: "burst";q=20;w=1, "owner.day";q=50000;w=86400`` says what each limit
is (its quota ``q`` in units, a verification's cost, and its window ``w`` in seconds);
``RateLimit: "burst";r=19;t=1, "owner.day";r=49000;t=86400`` how much is left (``r``)
and in how many seconds (``t``, rounded up) a unit frees up. A secret's own limits go by
their names, its owner's by ``owner.<name>`` (names never hold a dot, so the two never
clash). Serialised by ``http-sf`` (a dependency of the server and integration extras),
imported on first use so that ``import keyhive`` stays light.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, Final

from keyhive.core.model import RateLimitStatus

POLICY: Final = "RateLimit-Policy"
FIELD: Final = "RateLimit"


def member_name(status: RateLimitStatus) -> str:
    """The list member's name: the limit's own, ``owner.`` before an owner's."""
    return status.name if status.holder == "secret" else f"{status.holder}.{status.name}"


@functools.lru_cache(maxsize=4096)
def _policy(members: tuple[tuple[str, int, int], ...]) -> str:
    """The policy field for these (name, quota, window) members: it rarely changes, so
    each distinct one is serialised once."""
    import http_sf

    listed: list[Any] = [(name, {"q": q, "w": w}) for name, q, w in members]
    return str(http_sf.ser(listed))


def ratelimit_fields(limits: Sequence[RateLimitStatus]) -> dict[str, str]:
    """``RateLimit-Policy`` and ``RateLimit`` for these limits ({} when there are none)."""
    if not limits:
        return {}
    import http_sf

    names = [member_name(status) for status in limits]
    policy = _policy(tuple((n, s.limit, s.window) for n, s in zip(names, limits, strict=True)))
    current: list[Any] = [
        (name, {"r": status.remaining, "t": _seconds(status.reset_in)})
        for name, status in zip(names, limits, strict=True)
    ]
    return {POLICY: policy, FIELD: str(http_sf.ser(current))}


def _seconds(wait: float) -> int:
    """Whole seconds until a unit frees up, rounded up, so waiting that long finds room."""
    return math.ceil(wait) if wait > 0 else 0
