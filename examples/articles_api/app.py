"""The article's API, protected by keyhive in a few lines.

One secret may create and update articles (``articles:create``, ``articles:update``),
another may only read the user list (``users:read``); reading articles is public.

Run it (see README.md)::

    uvicorn --factory app:create_app

It checks secrets in ``KEYHIVE_DATABASE_URL`` (default ``sqlite:///./keyhive.db``), or
asks a keyhive server when ``KEYHIVE_REMOTE_URL`` and ``KEYHIVE_REMOTE_TOKEN`` are set.

Its users get their own keys from keyhive's portal: ``/account`` signs a user in (a
name in a signed cookie: the example's stand-in for a real login) and its "Get your API
key" button asks keyhive (``KEYHIVE_URL``, with the admin token ``KEYHIVE_ADMIN_TOKEN``)
for a portal session for that user, then sends the browser there.
No ``from __future__ import annotations``: FastAPI reads the handlers' annotations.
"""

import html
import itertools
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, Field

from keyhive import AsyncKeyHive, KeyHive
from keyhive.integrations import AsyncVerifier, Principal
from keyhive.integrations.fastapi import KeyhiveAuth
from keyhive.integrations.remote import AsyncRemoteVerifier

USERS = [{"id": 1, "name": "Ada Lovelace"}, {"id": 2, "name": "Grace Hopper"}]


class ArticleIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=20_000)


class Article(ArticleIn):
    id: int
    author: str  # the client_id whose secret wrote it
    editor: str | None = None


#: What the users of this API may let their own keys do (the portal offers these only).
USER_SCOPES = ["articles:create", "articles:update", "users:read"]
#: How many live keys one user may hold.
USER_KEYS = 3


def verifier_from_env() -> KeyHive | AsyncVerifier:
    """A keyhive server if one is configured, else the local database."""
    remote = os.environ.get("KEYHIVE_REMOTE_URL")
    if remote:
        return AsyncRemoteVerifier(remote, os.environ["KEYHIVE_REMOTE_TOKEN"])
    return KeyHive()


# -- "Get your API key": keyhive's portal for the signed-in user ---------------------------


class PortalLinks:
    """Asks keyhive's admin API for portal sessions (``POST /v1/portal/sessions``)."""

    def __init__(self, http: httpx.AsyncClient | None) -> None:
        self.http = http  # base_url: keyhive; an admin token in its headers

    @classmethod
    def from_env(cls) -> "PortalLinks":
        url, token = os.environ.get("KEYHIVE_URL"), os.environ.get("KEYHIVE_ADMIN_TOKEN")
        if not url or not token:
            return cls(None)  # the page then says what to set
        return cls(
            httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
        )

    async def open_for(self, user: str, back: str) -> str:
        """Step 1: a one-time portal link for ``user``, coming back to ``back``."""
        assert self.http is not None
        answer = await self.http.post(
            "/v1/portal/sessions",
            json={
                "owner": user,
                "allowed_scopes": USER_SCOPES,
                "max_secrets": USER_KEYS,
                "return_url": back,
                "client_name": f"{user}'s applications",
            },
        )
        answer.raise_for_status()
        return str(answer.json()["url"])

    async def aclose(self) -> None:
        if self.http is not None:
            await self.http.aclose()


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<link rel="icon" href="data:,"><title>{title} · Articles</title></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status)


def account_routes(links: PortalLinks) -> APIRouter:
    """A stand-in login (a name in a signed cookie) and the "Get your API key" page."""
    router = APIRouter(include_in_schema=False)
    cookies = URLSafeSerializer(
        os.environ.get("ARTICLES_SESSION_SECRET") or secrets.token_urlsafe(32), salt="login"
    )

    def signed_in(request: Request) -> str | None:
        try:
            user = cookies.loads(request.cookies.get("articles_user", ""))
        except BadSignature:
            return None
        return user if isinstance(user, str) else None

    @router.get("/account", response_class=HTMLResponse)
    async def account(request: Request) -> Response:
        user = signed_in(request)
        if user is None:
            return _page(
                "Sign in",
                '<form method="post" action="/login"><label for="user">Your name</label> '
                '<input id="user" name="user" required maxlength="64" autofocus> '
                '<button type="submit">Sign in</button></form>',
            )
        if links.http is None:
            return _page(
                "Get your API key",
                "<p>Set KEYHIVE_URL and KEYHIVE_ADMIN_TOKEN to offer API keys here.</p>",
            )
        return _page(
            "Get your API key",
            f"<p>Signed in as {html.escape(user)}.</p>"
            '<form method="post" action="/account/api-key">'
            '<button type="submit">Get your API key</button></form>'
            "<p>Create, rotate and revoke your keys for the Articles API.</p>",
        )

    @router.post("/login")
    async def login(user: Annotated[str, Form(min_length=1, max_length=64)]) -> Response:
        done = RedirectResponse("/account", status_code=303)
        done.set_cookie("articles_user", cookies.dumps(user.strip()), httponly=True, samesite="lax")
        return done

    @router.post("/account/api-key")
    async def get_api_key(request: Request) -> Response:
        user = signed_in(request)
        if user is None or links.http is None:
            return RedirectResponse("/account", status_code=303)
        try:
            url = await links.open_for(user, str(request.url_for("account")))
        except httpx.HTTPError:
            return _page("Get your API key", "<p>keyhive is not answering; try later.</p>", 502)
        return RedirectResponse(url, status_code=303)  # step 2: send the browser there

    return router


# -- the API ----------------------------------------------------------------------------------


def create_app(
    hive: KeyHive | AsyncKeyHive | AsyncVerifier | None = None,
    portal: PortalLinks | None = None,
) -> FastAPI:
    """The API over ``hive`` (tests pass their own), or over :func:`verifier_from_env`;
    its "Get your API key" page asks ``portal`` (default: from the environment)."""
    source = hive if hive is not None else verifier_from_env()
    auth = KeyhiveAuth(source)
    links = portal if portal is not None else PortalLinks.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if hive is None:  # close only what this app opened
            if isinstance(source, KeyHive):
                source.close()  # writes batched usage counts
            elif isinstance(source, AsyncRemoteVerifier):
                await source.aclose()
        if portal is None:
            await links.aclose()

    app = FastAPI(title="Articles API", lifespan=lifespan)
    articles: dict[int, Article] = {}
    ids = itertools.count(1)

    @app.get("/articles")
    async def list_articles() -> list[Article]:
        return list(articles.values())

    @app.post("/articles", status_code=201)
    async def create_article(
        data: ArticleIn, who: Annotated[Principal, auth.require("articles:create")]
    ) -> Article:
        article = Article(id=next(ids), author=who.client_id, **data.model_dump())
        articles[article.id] = article
        return article

    @app.put("/articles/{article_id}")
    async def update_article(
        article_id: int,
        data: ArticleIn,
        who: Annotated[Principal, auth.require("articles:update")],
    ) -> Article:
        if article_id not in articles:
            raise HTTPException(404, "no such article")
        article = articles[article_id].model_copy(
            update={**data.model_dump(), "editor": who.client_id}
        )
        articles[article_id] = article
        return article

    @app.get("/users")
    async def list_users(
        who: Annotated[Principal, auth.require("users:read")],
    ) -> list[dict[str, Any]]:
        return USERS

    app.include_router(account_routes(links))
    return app
