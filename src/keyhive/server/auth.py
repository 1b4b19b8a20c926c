"""Who is calling: the caller's own keyhive secret, checked for one keyhive scope.

The service's callers authenticate with keyhive secrets like any other API client
(Bearer, X-API-Key or HTTP Basic). A keyhive scope must be granted by name (or by
``keyhive:*``): a bare ``*`` granted for the protected API does not make its holder a
keyhive admin, and ``keyhive:admin`` does not imply ``keyhive:verify``.

The verdicts of a credential map to HTTP the same way for the caller and for
``GET /v1/auth``: 401 ``invalid_token``, 403 ``insufficient_scope``, 429 with Retry-After.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

from fastapi import Request, Security
from fastapi.openapi.models import APIKey, HTTPBase, HTTPBearer
from fastapi.security.base import SecurityBase
from starlette.concurrency import run_in_threadpool

from keyhive.core import rfc6750
from keyhive.core.credentials import BadCredential, Credential, from_headers
from keyhive.core.model import Code, Verification
from keyhive.server.problems import HTTPProblem
from keyhive.service.hive import KeyHive

REALM: Final = rfc6750.REALM
_KEYHIVE_ALL: Final = "keyhive:*"


class _Documented(SecurityBase):
    """A security scheme that only documents itself (the "Authorize" button in /docs).

    Reading and checking the header is left to :func:`read_credential`, which accepts
    all three schemes and never answers with FastAPI's own errors.
    """

    def __init__(self, model: Any, scheme_name: str) -> None:
        self.model = model
        self.scheme_name = scheme_name

    async def __call__(self) -> None:
        return None


BEARER: Final = _Documented(HTTPBearer(description="Authorization: Bearer <token>"), "bearerToken")
API_KEY: Final = _Documented(
    APIKey.model_validate(
        {"in": "header", "name": "X-API-Key", "description": "X-API-Key: <token>"}
    ),
    "apiKeyHeader",
)
BASIC: Final = _Documented(
    HTTPBase(scheme="basic", description="HTTP Basic with client_id:secret"), "basicAuth"
)
SECURITY_NAMES: Final = ("bearerToken", "apiKeyHeader", "basicAuth")


def challenge(error: str | None = None, scope: Sequence[str] = (), description: str = "") -> str:
    """A ``WWW-Authenticate`` value for keyhive's realm (see :mod:`keyhive.core.rfc6750`)."""
    return rfc6750.challenge(REALM, error, scope, description)


def read_credential(headers: Mapping[str, str]) -> Credential:
    """The credential in Authorization or X-API-Key; a 401 problem if none or unreadable."""
    try:
        credential = from_headers(headers.get("authorization"), headers.get("x-api-key"))
    except BadCredential as exc:
        raise HTTPProblem(
            401,
            str(exc),
            slug="invalid-request",
            headers={"WWW-Authenticate": challenge("invalid_request")},
        ) from None
    if credential is None:
        raise HTTPProblem(
            401,
            "send a keyhive secret as Bearer, X-API-Key or HTTP Basic client_id:secret",
            slug="unauthenticated",
            headers={"WWW-Authenticate": challenge()},
        )
    return credential


def rejection(result: Verification, required: Sequence[str]) -> HTTPProblem:
    """The problem for a verification that did not pass."""
    code = result.code
    wait = rfc6750.retry_seconds(result.retry_after)
    if code in rfc6750.UNAUTHORIZED:
        headers = {"WWW-Authenticate": challenge("invalid_token")}
        if wait:  # failures of this credential or address are being throttled
            headers["Retry-After"] = str(wait)
        return HTTPProblem(
            401,
            "the credential is not valid",
            slug="invalid-token",
            headers=headers,
            code=code.value,
        )
    if code in rfc6750.FORBIDDEN:
        why = (
            "the client's IP address is not allowed"
            if code is Code.IP_NOT_ALLOWED
            else "the credential lacks a required scope"
        )
        return HTTPProblem(
            403,
            why,
            slug="insufficient-scope",
            headers={"WWW-Authenticate": challenge("insufficient_scope", required)},
            code=code.value,
            required_scopes=list(required),
        )
    wait = wait or 1
    return HTTPProblem(
        429,
        "usage limit exceeded" if code is Code.USAGE_EXCEEDED else "rate limit exceeded",
        slug="rate-limited",
        headers={"Retry-After": str(wait)},
        code=code.value,
        retry_after=wait,
    )


def grants(result: Verification, scope: str) -> bool:
    """Whether a VALID verification's secret holds this keyhive scope by name."""
    held = result.scopes
    return result.valid and (scope in held or _KEYHIVE_ALL in held)


def check_caller(hive: KeyHive, credential: Credential, scope: str) -> Verification:
    """Verify the caller's credential for ``scope`` (blocking: may run scrypt)."""
    result = hive.verify_credential(credential, [scope])
    if result.valid and not grants(result, scope):
        result = Verification(Code.INSUFFICIENT_SCOPE, result.client, result.secret)
    if not result.valid:
        raise rejection(result, [scope])
    return result


def caller(hive: KeyHive, scope: str) -> Callable[..., Awaitable[str]]:
    """A FastAPI dependency giving the caller's secret_id (the audit actor)."""

    async def dependency(
        request: Request,
        _bearer: None = Security(BEARER),
        _key: None = Security(API_KEY),
        _basic: None = Security(BASIC),
    ) -> str:
        credential = read_credential(request.headers)
        result = await run_in_threadpool(check_caller, hive, credential, scope)
        assert result.secret_id is not None
        return result.secret_id

    return dependency
