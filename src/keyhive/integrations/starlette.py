"""Starlette (and any ASGI app): an authentication backend and a guarding middleware.

Either put :class:`KeyhiveBackend` under Starlette's AuthenticationMiddleware and mark
endpoints with :func:`requires`::

    Middleware(AuthenticationMiddleware, backend=KeyhiveBackend(hive),
               on_error=KeyhiveBackend.on_error)

or wrap a whole app (or a Mount) in :class:`KeyhiveMiddleware` with the scopes all of it
needs. Both put a :class:`KeyhiveUser` in ``request.user`` and the principal in
``request.state.keyhive``. Scopes match with keyhive's wildcards (``articles:*``), which
Starlette's own ``requires`` does not know, hence the ``requires`` here.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keyhive.integrations._gate import check_async, required_scopes, scope_check
from keyhive.integrations._principal import Principal
from keyhive.integrations._rfc6750 import DEFAULT_REALM, Denial, missing, passed_headers
from keyhive.integrations._verifier import Source, as_async_verifier, client_ip

Endpoint = Callable[[Request], Awaitable[Response]]


class KeyhiveUser(BaseUser):
    """``request.user`` for a verified caller; ``principal`` holds the details."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.principal.name or self.principal.client_id

    @property
    def identity(self) -> str:
        return self.principal.client_id


class KeyhiveAuthError(AuthenticationError):
    """A presented credential failed; ``denial`` is the answer to send."""

    def __init__(self, denial: Denial) -> None:
        super().__init__(str(denial.body.get("error", "unauthorized")))
        self.denial = denial


def response(denial: Denial) -> Response:
    return Response(
        denial.content(), denial.status, headers=denial.headers, media_type="application/json"
    )


def _identify(scope: Scope, principal: Principal) -> None:
    scope["user"] = KeyhiveUser(principal)
    scope["auth"] = AuthCredentials(list(principal.scopes))
    scope.setdefault("state", {})["keyhive"] = principal


class KeyhiveBackend(AuthenticationBackend):
    """Identifies the caller; a request without a credential passes as unauthenticated,
    a request with a bad one is answered 401 (with ``on_error``)."""

    def __init__(self, hive: Source, *, realm: str = DEFAULT_REALM) -> None:
        self.verifier = as_async_verifier(hive)
        self.realm = realm

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        result = await check_async(
            self.verifier,
            conn.headers.get("authorization"),
            conn.headers.get("x-api-key"),
            ip=client_ip(conn.client.host if conn.client else None),
            realm=self.realm,
            optional=True,
        )
        if result is None:
            return None
        if isinstance(result, Denial):
            raise KeyhiveAuthError(result)
        conn.scope.setdefault("state", {})["keyhive"] = result
        return AuthCredentials(list(result.scopes)), KeyhiveUser(result)

    @staticmethod
    def on_error(conn: HTTPConnection, exc: AuthenticationError) -> Response:
        """Pass as AuthenticationMiddleware's ``on_error`` to answer in RFC 6750 form."""
        if isinstance(exc, KeyhiveAuthError):
            return response(exc.denial)
        return Response(str(exc), 400)


def requires(*scopes: str, realm: str = DEFAULT_REALM) -> Callable[[Endpoint], Endpoint]:
    """Guard an endpoint: 401 without a verified caller, 403 without every scope."""
    required = required_scopes(scopes)

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            user = request.scope.get("user")
            if not isinstance(user, KeyhiveUser):
                return response(missing(realm))
            denial = scope_check(user.principal, required, realm)
            if denial is not None:
                return response(denial)
            return await endpoint(request)

        return guarded

    return decorate


class KeyhiveMiddleware:
    """Pure ASGI: every HTTP request and websocket below it needs a valid secret holding
    ``scopes``; the rest is answered here and never reaches the app."""

    def __init__(
        self, app: ASGIApp, hive: Source, *, scopes: Sequence[str] = (), realm: str = DEFAULT_REALM
    ) -> None:
        self.app = app
        self.verifier = as_async_verifier(hive)
        self.scopes = required_scopes(scopes)
        self.realm = realm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        result = await check_async(
            self.verifier,
            conn.headers.get("authorization"),
            conn.headers.get("x-api-key"),
            self.scopes,
            ip=client_ip(conn.client.host if conn.client else None),
            realm=self.realm,
        )
        if isinstance(result, Principal):
            _identify(scope, result)
            extra = passed_headers(result.limits)
            await self.app(scope, receive, _adding(send, extra) if extra else send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # policy violation
        else:
            assert result is not None
            await response(result)(scope, receive, send)


def _adding(send: Send, headers: dict[str, str]) -> Send:
    """``send`` with the RateLimit headers added to the start of the answer."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *raw]}
        await send(message)

    return sending


def principal(request: HTTPConnection) -> Principal | None:
    """The verified caller of this request, if any."""
    found: Any = request.scope.get("state", {}).get("keyhive")
    return found if isinstance(found, Principal) else None


__all__ = [
    "KeyhiveAuthError",
    "KeyhiveBackend",
    "KeyhiveMiddleware",
    "KeyhiveUser",
    "principal",
    "requires",
    "response",
]
