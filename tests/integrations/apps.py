"""The same small API built with each framework, so one acceptance suite runs on all.

Every app has ``POST /articles`` (needs ``articles:create``) and ``GET /users`` (needs
``users:read``); both answer with what the handler saw of the verified caller. No ``from __future__
import annotations`` here: FastAPI evaluates the handlers' annotations, which name a
local ``auth``.
"""

import base64
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import FastAPI, Security

from keyhive.core.credentials import Credential
from keyhive.integrations import Principal, Verdict, VerifierUnavailable
from keyhive.integrations.fastapi import KeyhiveAuth


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: Any


Call = Callable[[str, str, Mapping[str, str]], Reply]


def seen(who: Principal | None) -> dict[str, Any]:
    """What a handler reports about its caller."""
    assert who is not None
    return {
        "client_id": who.client_id,
        "secret_id": who.secret_id,
        "scopes": list(who.scopes),
        "owner": who.owner,
        "metadata": dict(who.metadata),
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


class Stub:
    """A blocking verifier with a fixed answer (or error); records the scopes it was asked."""

    def __init__(self, answer: Verdict | Exception) -> None:
        self.answer = answer
        self.asked: list[tuple[str, ...]] = []

    def verify(
        self, credential: Credential, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verdict:
        self.asked.append(tuple(scopes))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class AsyncStub(Stub):
    async def verify(  # type: ignore[override]
        self, credential: Credential, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verdict:
        return Stub.verify(self, credential, scopes, ip=ip)


# -- ASGI -------------------------------------------------------------------------------------


@contextmanager
def _asgi(app: Any) -> Iterator[Call]:
    from starlette.testclient import TestClient

    with TestClient(app, raise_server_exceptions=True) as client:

        def call(method: str, path: str, headers: Mapping[str, str]) -> Reply:
            r = client.request(method, path, headers=dict(headers))
            return Reply(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.json())

        yield call


def fastapi_app(source: Any, *, all_schemes: bool = False) -> Any:
    auth = KeyhiveAuth(source, all_schemes=all_schemes)
    app = FastAPI()

    @app.post("/articles")
    async def create(who: Annotated[Principal, Security(auth, scopes=["articles:create"])]) -> Any:
        return seen(who)

    @app.get("/users")
    async def users(who: Annotated[Principal, auth.require("users:read")]) -> Any:
        return seen(who)

    return app


def starlette_backend_app(source: Any) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.authentication import AuthenticationMiddleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from keyhive.integrations.starlette import KeyhiveBackend, principal, requires

    @requires("articles:create")
    async def create(request: Request) -> Response:
        return JSONResponse(seen(principal(request)))

    @requires("users:read")
    async def users(request: Request) -> Response:
        return JSONResponse(seen(request.user.principal))

    async def public(request: Request) -> Response:
        return JSONResponse({"authenticated": request.user.is_authenticated})

    backend = KeyhiveBackend(source)
    return Starlette(
        routes=[
            Route("/articles", create, methods=["POST"]),
            Route("/users", users),
            Route("/public", public),
        ],
        middleware=[
            Middleware(AuthenticationMiddleware, backend=backend, on_error=backend.on_error)
        ],
    )


def starlette_middleware_app(source: Any) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route, request_response

    from keyhive.integrations.starlette import KeyhiveMiddleware, principal

    async def show(request: Request) -> Response:
        return JSONResponse(seen(principal(request)))

    def guarded(*scopes: str) -> Any:
        return KeyhiveMiddleware(request_response(show), source, scopes=scopes)

    return Starlette(
        routes=[
            Route("/articles", guarded("articles:create"), methods=["POST"]),
            Route("/users", guarded("users:read"), methods=["GET"]),
        ]
    )


# -- WSGI -------------------------------------------------------------------------------------


def flask_app(source: Any) -> Any:
    from flask import Flask, g

    from keyhive.integrations.flask import KeyhiveFlask

    app = Flask(__name__)
    keyhive = KeyhiveFlask(app, source)

    @app.post("/articles")
    @keyhive.require("articles:create")
    def create() -> Any:
        return seen(g.keyhive)

    @app.get("/users")
    @keyhive.require("users:read")
    def users() -> Any:
        return seen(g.keyhive)

    return app


@contextmanager
def _flask(source: Any) -> Iterator[Call]:
    client = flask_app(source).test_client()

    def call(method: str, path: str, headers: Mapping[str, str]) -> Reply:
        r = client.open(path, method=method, headers=dict(headers))
        return Reply(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.get_json())

    yield call


@contextmanager
def _django(source: Any, prefix: str = "", **overrides: Any) -> Iterator[Call]:
    from django.test import Client, override_settings

    with override_settings(KEYHIVE={"VERIFIER": source}, **overrides):
        client = Client()

        def call(method: str, path: str, headers: Mapping[str, str]) -> Reply:
            r = client.generic(method, prefix + path, headers=dict(headers))
            return Reply(r.status_code, {k.lower(): v for k, v in r.items()}, r.json())

        yield call


@dataclass(frozen=True)
class Framework:
    name: str
    is_async: bool
    serve: Callable[[Any], Any]  # a context manager giving a Call
    nested: bool = False  # FastAPI puts an HTTPException's body under "detail"

    def error(self, reply: Reply) -> dict[str, Any]:
        body = reply.body["detail"] if self.nested else reply.body
        assert isinstance(body, dict)
        return body

    def stub(self, answer: Verdict | Exception) -> Stub:
        return AsyncStub(answer) if self.is_async else Stub(answer)


FRAMEWORKS = [
    Framework("fastapi", True, lambda s: _asgi(fastapi_app(s)), nested=True),
    Framework("starlette-backend", True, lambda s: _asgi(starlette_backend_app(s))),
    Framework("starlette-middleware", True, lambda s: _asgi(starlette_middleware_app(s))),
    Framework("flask", False, _flask),
    Framework("django", False, _django),
    Framework("drf", False, lambda s: _django(s, "/drf", MIDDLEWARE=[])),
]

UNAVAILABLE = VerifierUnavailable("keyhive is down", retry_after=7)
