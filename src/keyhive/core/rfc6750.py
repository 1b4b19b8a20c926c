"""From a verification code to an HTTP answer: one table, for the HTTP service and every
framework integration (RFC 6750 §3 for the status, the ``WWW-Authenticate`` challenge and
its error code; ``Retry-After`` for waits).

The server renders a refusal as an RFC 9457 problem, the integrations as an RFC 6750
JSON error; both read status, error, description and headers from here, so a refused
caller sees the same answer wherever keyhive stands. A new verification code needs one
row in :data:`ANSWERS`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from keyhive.core.model import Code

REALM: Final = "keyhive"


@dataclass(frozen=True, slots=True)
class Answer:
    """How one refusing code is answered."""

    status: int
    #: The RFC 6750 error code (or keyhive's own for 429s), also the integrations' ``error``.
    error: str
    #: The problem type of the HTTP service: ``urn:keyhive:problem:<slug>``.
    slug: str
    description: str

    @property
    def challenges(self) -> bool:
        """401 and 403 carry a ``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3)."""
        return self.status in (401, 403)

    @property
    def waits(self) -> bool:
        """429 always says when to retry (at least a second)."""
        return self.status == 429


_INVALID: Final = Answer(401, "invalid_token", "invalid-token", "the credential is not valid")
ANSWERS: Final[dict[Code, Answer]] = {
    Code.NOT_FOUND: _INVALID,
    Code.EXPIRED: _INVALID,
    Code.REVOKED: _INVALID,
    Code.DISABLED: _INVALID,
    Code.INSUFFICIENT_SCOPE: Answer(
        403, "insufficient_scope", "insufficient-scope", "the credential lacks a required scope"
    ),
    Code.IP_NOT_ALLOWED: Answer(
        403, "insufficient_scope", "insufficient-scope", "the caller's IP address is not allowed"
    ),
    Code.RATE_LIMITED: Answer(429, "rate_limited", "rate-limited", "rate limit exceeded"),
    Code.USAGE_EXCEEDED: Answer(429, "usage_exceeded", "rate-limited", "usage limit exceeded"),
}
#: Codes answered 401 ``invalid_token``: the credential itself is not good.
UNAUTHORIZED: Final = frozenset(c for c, a in ANSWERS.items() if a.status == 401)
#: Codes answered 403 ``insufficient_scope``: good credential, not for this request.
FORBIDDEN: Final = frozenset(c for c, a in ANSWERS.items() if a.status == 403)
#: Codes answered 429 with ``Retry-After``.
LIMITED: Final = frozenset(c for c, a in ANSWERS.items() if a.status == 429)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused verification as HTTP: the row of :data:`ANSWERS` plus this request's
    headers and wait."""

    answer: Answer
    code: Code
    headers: dict[str, str]
    #: Whole seconds to wait, when there is a wait (always for 429).
    retry_after: int | None


def refusal(
    code: Code,
    retry_after: float | None = None,
    required: Sequence[str] = (),
    realm: str = REALM,
) -> Refusal | None:
    """The HTTP answer for a code; None for VALID."""
    answer = ANSWERS.get(code)
    if answer is None:
        return None
    wait = retry_seconds(retry_after)
    if answer.waits:
        wait = wait or 1
    headers: dict[str, str] = {}
    if answer.challenges:
        scope = required if answer.status == 403 else ()
        headers["WWW-Authenticate"] = challenge(realm, answer.error, scope)
    if wait:
        headers["Retry-After"] = str(wait)
    return Refusal(answer, code, headers, wait)


def challenge(
    realm: str = REALM, error: str | None = None, scope: Sequence[str] = (), description: str = ""
) -> str:
    """A ``WWW-Authenticate: Bearer`` value; no ``error`` when no credential was sent (§3.1)."""
    parts = [f'Bearer realm="{realm}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    if scope:
        parts.append(f'scope="{" ".join(scope)}"')
    return ", ".join(parts)


def retry_seconds(value: float | None) -> int | None:
    """Whole seconds for ``Retry-After``: at least 1, at most a day; None if not a wait."""
    if value is None or math.isnan(value) or value <= 0:
        return None
    return max(1, math.ceil(min(value, 86_400.0)))
