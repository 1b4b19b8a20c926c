"""Who is calling: the caller's own keyhive secret, checked for one keyhive scope.

The service's callers authenticate with keyhive secrets like any other API client
(Bearer, X-API-Key or HTTP Basic), through the same pipeline as every credential. A
keyhive scope must be granted by name (or by ``keyhive:*``), and ``keyhive:admin`` does
not imply ``keyhive:verify``.

The verdicts of a credential map to HTTP the same way for the caller and for
``GET /v1/auth``: 401 ``invalid_token``, 403 ``insufficient_scope``, 429 with Retry-After.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

from fastapi import Request, Security
from fastapi.openapi.models import APIKey, HTTPBase, HTTPBearer
from fastapi.security.base import SecurityBase

from keyhive.core import rfc6750
from keyhive.core.addresses import TrustedProxies
from keyhive.core.credentials import BadCredential, Credential, from_headers
from keyhive.core.model import Verification
from keyhive.server.problems import HTTPProblem
from keyhive.service.hive_async import AsyncKeyHive

REALM: Final = rfc6750.REALM


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
    """The problem for a verification that did not pass (the table in core/rfc6750.py)."""
    refused = rfc6750.refusal(result.code, result.retry_after, required, REALM)
    assert refused is not None, "a VALID verification is not refused"
    answer = refused.answer
    extensions: dict[str, Any] = {"code": result.code.value}
    if answer.status == 403:
        extensions["required_scopes"] = list(required)
    if answer.waits:
        extensions["retry_after"] = refused.retry_after
    return HTTPProblem(
        answer.status,
        answer.description,
        slug=answer.slug,
        headers=refused.headers,
        **extensions,
    )


def caller(
    hive: AsyncKeyHive, scope: str, proxies: TrustedProxies
) -> Callable[..., Awaitable[str]]:
    """A FastAPI dependency giving the caller's secret_id (the audit actor).

    The caller's secret must hold ``scope`` by the one scope rule (core/scopes.py): a
    bare ``*`` does not reach keyhive's own scopes.
    """
    required = (scope,)

    async def dependency(
        request: Request,
        _bearer: None = Security(BEARER),
        _key: None = Security(API_KEY),
        _basic: None = Security(BASIC),
    ) -> str:
        credential = read_credential(request.headers)
        peer = request.client.host if request.client else None
        ip = proxies.client(
            peer, request.headers.get("x-real-ip"), request.headers.get("x-forwarded-for")
        )
        result = await hive.verify_credential(credential, required, ip=ip)
        if not result.valid:
            raise rejection(result, required)
        assert result.secret_id is not None
        return result.secret_id

    return dependency
