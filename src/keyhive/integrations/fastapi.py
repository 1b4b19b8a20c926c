"""FastAPI: a security dependency that checks the caller's keyhive secret.

    auth = KeyhiveAuth(hive)

    @app.post("/articles")
    async def create(who: Annotated[Principal, Security(auth, scopes=["articles:create"])]):
        ...

``Annotated[Principal, auth.require("articles:create")]`` says the same more briefly.
Bearer, X-API-Key and HTTP Basic appear in the OpenAPI "Authorize" dialog. Failures are
HTTPExceptions carrying RFC 6750 headers, with the JSON error under ``detail``. A secret
with rate limits gets ``RateLimit-Policy`` and ``RateLimit`` on its 429s and on the
answers of routes that return data.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import HTTPException, Request, Response, Security
from fastapi.security import APIKeyHeader, HTTPBasic, HTTPBearer, SecurityScopes
from fastapi.security.http import HTTPAuthorizationCredentials

from keyhive.integrations._gate import check_async, required_scopes
from keyhive.integrations._principal import Principal
from keyhive.integrations._rfc6750 import DEFAULT_REALM, Denial, passed_headers
from keyhive.integrations._verifier import Source, as_async_verifier, client_ip


class _BasicDocumented(HTTPBasic):
    """HTTP Basic in the docs only: keyhive reads the header itself, because FastAPI's
    HTTPBasic answers a malformed header with its own 401 even when auto_error is off."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


BEARER = HTTPBearer(
    auto_error=False, scheme_name="keyhiveBearer", description="Authorization: Bearer <token>"
)
API_KEY = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="keyhiveApiKey",
    description="X-API-Key: <token>",
)
BASIC = _BasicDocumented(
    auto_error=False,
    scheme_name="keyhiveBasic",
    description="client_id as user, secret as password",
)


class KeyhiveAuth:
    """A dependency giving the handler the verified :class:`Principal`.

    ``hive`` is a KeyHive, an AsyncKeyHive or an async verifier (e.g.
    AsyncRemoteVerifier). Scopes come from ``Security(auth, scopes=[...])``, gathered
    from the route and every router above it; all must be granted.
    """

    def __init__(self, hive: Source, *, realm: str = DEFAULT_REALM) -> None:
        self.verifier = as_async_verifier(hive)
        self.realm = realm

    async def __call__(
        self,
        request: Request,
        response: Response,
        security_scopes: SecurityScopes,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
        _api_key: Annotated[str | None, Security(API_KEY)],
        _basic: Annotated[None, Security(BASIC)],
    ) -> Principal:
        required = required_scopes(security_scopes.scopes)
        result = await check_async(
            self.verifier,
            request.headers.get("authorization"),
            request.headers.get("x-api-key"),
            required,
            ip=client_ip(request.client.host if request.client else None),
            realm=self.realm,
        )
        if isinstance(result, Denial) or result is None:
            raise _http_error(result)
        request.state.keyhive = result
        # Reaches the answer when the route returns data (FastAPI merges these headers);
        # a route that returns its own Response sets them from principal.limits itself.
        response.headers.update(passed_headers(result.limits))
        return result

    def require(self, *scopes: str) -> Any:
        """``Security(self, scopes=[...])`` for use in ``Annotated[Principal, ...]``."""
        required_scopes(scopes)  # a typo in a scope fails at import, not at request time
        return Security(self, scopes=list(scopes))


def _http_error(denial: Denial | None) -> HTTPException:
    assert denial is not None  # check_async returns None only when optional
    return HTTPException(denial.status, detail=denial.body, headers=denial.headers)


__all__ = ["API_KEY", "BASIC", "BEARER", "KeyhiveAuth"]
