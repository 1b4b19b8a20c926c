"""The article's API, protected by keyhive in a few lines.

One secret may create and update articles (``articles:create``, ``articles:update``),
another may only read the user list (``users:read``); reading articles is public.

Run it (see README.md)::

    uvicorn --factory app:create_app

It checks secrets in ``KEYHIVE_DATABASE_URL`` (default ``sqlite:///./keyhive.db``), or
asks a keyhive server when ``KEYHIVE_REMOTE_URL`` and ``KEYHIVE_REMOTE_TOKEN`` are set.
No ``from __future__ import annotations``: FastAPI reads the handlers' annotations.
"""

import itertools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException
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


def verifier_from_env() -> KeyHive | AsyncVerifier:
    """A keyhive server if one is configured, else the local database."""
    remote = os.environ.get("KEYHIVE_REMOTE_URL")
    if remote:
        return AsyncRemoteVerifier(remote, os.environ["KEYHIVE_REMOTE_TOKEN"])
    return KeyHive()


def create_app(hive: KeyHive | AsyncKeyHive | AsyncVerifier | None = None) -> FastAPI:
    """The API over ``hive`` (tests pass their own), or over :func:`verifier_from_env`."""
    source = hive if hive is not None else verifier_from_env()
    auth = KeyhiveAuth(source)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if hive is None:  # close only what this app opened
            if isinstance(source, KeyHive):
                source.close()  # writes batched usage counts
            elif isinstance(source, AsyncRemoteVerifier):
                await source.aclose()

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

    return app
