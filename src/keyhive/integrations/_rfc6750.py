"""How a verdict becomes an HTTP answer, the same for every framework (RFC 6750 §3).

401 ``invalid_token`` when the credential is unknown, expired, revoked or its client is
disabled; 401 with no error code when none was sent (§3.1); 403 ``insufficient_scope``
naming the required scopes; 429 with ``Retry-After`` when rate- or usage-limited, and
``RateLimit-Policy`` / ``RateLimit`` for a secret with rate limits (adapters add them to
the answers that pass too, see :func:`passed_headers`). A malformed header is 401
``invalid_request``, as ``GET /v1/auth`` answers it, because a gateway's
``auth_request`` can relay only 401 and 403.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from keyhive.core import rfc6750
from keyhive.core.credentials import BadCredential, Credential, from_headers
from keyhive.core.model import RateLimitStatus
from keyhive.core.ratelimit_fields import ratelimit_fields
from keyhive.integrations._principal import Verdict

DEFAULT_REALM: Final = rfc6750.REALM


@dataclass(frozen=True, slots=True)
class Denial:
    """An error response, framework-free: status, headers and a JSON body."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def content(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode()


def challenge(
    realm: str = DEFAULT_REALM, error: str | None = None, scope: Sequence[str] = ()
) -> str:
    """A ``WWW-Authenticate: Bearer`` value; ``error`` is left out when nothing was sent."""
    return rfc6750.challenge(realm, error, scope)


def missing(realm: str = DEFAULT_REALM) -> Denial:
    """No credential at all: a bare challenge, no error code (RFC 6750 §3.1)."""
    return Denial(
        401,
        {
            "error": "unauthorized",
            "error_description": "send a secret as Bearer, X-API-Key or Basic client_id:secret",
        },
        {"WWW-Authenticate": challenge(realm)},
    )


def malformed(exc: BadCredential, realm: str = DEFAULT_REALM) -> Denial:
    """A credential header that cannot be read; the message never echoes the header."""
    return Denial(
        401,
        {"error": "invalid_request", "error_description": str(exc)},
        {"WWW-Authenticate": challenge(realm, "invalid_request")},
    )


def read(
    authorization: str | None, api_key: str | None, realm: str = DEFAULT_REALM
) -> Credential | Denial:
    """The credential in these headers, or the denial to answer with."""
    try:
        credential = from_headers(authorization, api_key)
    except BadCredential as exc:
        return malformed(exc, realm)
    return credential if credential is not None else missing(realm)


def deny(
    verdict: Verdict, required: Sequence[str] = (), realm: str = DEFAULT_REALM
) -> Denial | None:
    """The answer for a verdict that did not pass (the table in core/rfc6750.py); None
    when it passed."""
    refused = rfc6750.refusal(verdict.code, verdict.retry_after, required, realm)
    if refused is None:
        return None
    answer = refused.answer
    body: dict[str, Any] = {
        "error": answer.error,
        "error_description": answer.description,
        "code": verdict.code.value,
    }
    if answer.status == 403 and required:
        body["scope"] = " ".join(required)
    headers = refused.headers
    if answer.waits:
        body["retry_after"] = refused.retry_after
        headers = {**headers, **ratelimit_fields(verdict.limits)}
    return Denial(answer.status, body, headers)


def unavailable(retry_after: float | None = None) -> Denial:
    """The verifier could not answer (a remote keyhive is down): fail closed, 503."""
    return Denial(
        503,
        {"error": "temporarily_unavailable", "error_description": "cannot verify credentials"},
        {"Retry-After": str(rfc6750.retry_seconds(retry_after) or 1)},
    )


def passed_headers(limits: Sequence[RateLimitStatus]) -> dict[str, str]:
    """Headers for an answer that passed: the RateLimit fields of the caller's limits."""
    return ratelimit_fields(limits)
