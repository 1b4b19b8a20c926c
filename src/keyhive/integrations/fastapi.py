"""FastAPI: a security dependency that checks the caller's keyhive secret.

    auth = KeyhiveAuth(hive)

    @app.post("/articles")
    async def create(who: Annotated[Principal, Security(auth, scopes=["articles:create"])]):
        ...

``Annotated[Principal, auth.require("articles:create")]`` says the same more briefly.
Bearer, X-API-Key and HTTP Basic are all accepted. The OpenAPI "Authorize" dialog offers
Bearer (every keyhive token works there); ``KeyhiveAuth(hive, all_schemes=True)`` lists
X-API-Key and Basic too, at the price of two more dependencies per request. Failures are
HTTPExceptions carrying RFC 6750 headers, with the JSON error under ``detail``. A secret
with rate limits gets ``RateLimit-Policy`` and ``RateLimit`` on its 429s and on the
answers of routes that return data.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import HTTPException, Request, Response, Security
from fastapi.openapi.models import APIKey, HTTPBase, HTTPBearer
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase

from keyhive.integrations._gate import begin_check, required_scopes
from keyhive.integrations._principal import Principal
from keyhive.integrations._rfc6750 import DEFAULT_REALM, Denial, passed_headers
from keyhive.integrations._verifier import Source, as_async_verifier, client_ip


class _Documented(SecurityBase):
    """A security scheme that only documents itself (the "Authorize" dialog).

    It takes no parameters, so FastAPI resolves it without reading the request: keyhive
    reads the headers itself, once, for all three schemes.
    """

    def __init__(self, model: Any, scheme_name: str) -> None:
        self.model = model
        self.scheme_name = scheme_name

    async def __call__(self) -> None:
        return None


BEARER = _Documented(HTTPBearer(description="Authorization: Bearer <token>"), "keyhiveBearer")
API_KEY = _Documented(
    APIKey.model_validate(
        {"in": "header", "name": "X-API-Key", "description": "X-API-Key: <token>"}
    ),
    "keyhiveApiKey",
)
BASIC = _Documented(
    HTTPBase(scheme="basic", description="client_id as user, secret as password"),
    "keyhiveBasic",
)


class KeyhiveAuth(SecurityBase):
    """A dependency giving the handler the verified :class:`Principal`.

    ``hive`` is a KeyHive, an AsyncKeyHive or an async verifier (e.g.
    AsyncRemoteVerifier). Scopes come from ``Security(auth, scopes=[...])``, gathered
    from the route and every router above it; all must be granted.

    It is itself the Bearer scheme of the OpenAPI document, and the only dependency
    FastAPI resolves for it. FastAPI documents a scheme only as a dependency it also
    runs on every request, so ``all_schemes=True`` (X-API-Key and Basic in the
    document) adds two parameterless ones: measured, they cost more than the
    verification itself, which is why they are not the default.
    """

    def __new__(
        cls, hive: Source, *, realm: str = DEFAULT_REALM, all_schemes: bool = False
    ) -> KeyhiveAuth:
        # FastAPI reads the dependency's parameters from the class's __call__, so the
        # documented variant is a subclass rather than a flag read per request.
        chosen = _AllSchemes if all_schemes and cls is KeyhiveAuth else cls
        return super().__new__(chosen)

    def __init__(
        self, hive: Source, *, realm: str = DEFAULT_REALM, all_schemes: bool = False
    ) -> None:
        self.verifier = as_async_verifier(hive)
        self.realm = realm
        self.model = BEARER.model
        self.scheme_name = BEARER.scheme_name

    async def __call__(
        self, request: Request, response: Response, security_scopes: SecurityScopes
    ) -> Principal:
        # Written out in one body: this runs for every request a protected route serves,
        # and each call or coroutine between the header and the pipeline costs more than
        # the verification of a repeat caller.
        scope = request.scope
        authorization, api_key = _credential_headers(scope["headers"])
        client = scope.get("client")
        result = begin_check(
            self.verifier,
            authorization,
            api_key,
            security_scopes.scopes,  # validated once in the pipeline's memo
            client_ip(client[0]) if client else None,
            self.realm,
        )
        if type(result) is not Principal:
            if result is not None and not isinstance(result, Principal | Denial):
                result = await result
            if not isinstance(result, Principal):
                raise _http_error(result)
        # request.state.keyhive without building a State object per request: Starlette's
        # State keeps its attributes in this same dict.
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state["keyhive"] = result
        if result.limits:
            # Reaches the answer when the route returns data (FastAPI merges these
            # headers); a route returning its own Response sets them from principal.limits.
            response.headers.update(passed_headers(result.limits))
        return result

    def require(self, *scopes: str) -> Any:
        """``Security(self, scopes=[...])`` for use in ``Annotated[Principal, ...]``."""
        required_scopes(scopes)  # a typo in a scope fails at import, not at request time
        return Security(self, scopes=list(scopes))


def _credential_headers(raw: list[tuple[bytes, bytes]]) -> tuple[str | None, str | None]:
    """Authorization and X-API-Key from the raw ASGI headers, in one pass (first wins)."""
    authorization = api_key = None
    for name, value in raw:
        if name == b"authorization":
            if authorization is None:
                authorization = value.decode("latin-1")
        elif name == b"x-api-key" and api_key is None:
            api_key = value.decode("latin-1")
    return authorization, api_key


class _AllSchemes(KeyhiveAuth):
    """KeyhiveAuth that also puts X-API-Key and Basic in the OpenAPI document."""

    async def __call__(  # type: ignore[override]
        self,
        request: Request,
        response: Response,
        security_scopes: SecurityScopes,
        _api_key: Annotated[None, Security(API_KEY)],
        _basic: Annotated[None, Security(BASIC)],
    ) -> Principal:
        return await KeyhiveAuth.__call__(self, request, response, security_scopes)


def _http_error(denial: Denial | None) -> HTTPException:
    assert denial is not None  # begin_check returns None only when optional
    return HTTPException(denial.status, detail=denial.body, headers=denial.headers)


__all__ = ["API_KEY", "BASIC", "BEARER", "KeyhiveAuth"]
