"""FastAPI: the same async route open, behind a one-line bearer check, and behind keyhive.

The one-line check is the ceiling for any dependency: an async function that compares
the Authorization header with a constant. keyhive's row uses
:class:`keyhive.integrations.fastapi.KeyhiveAuth` over a local KeyHive (a cache hit after
the first request).
"""

# No ``from __future__ import annotations``: FastAPI reads the dependencies from the
# annotations, which name closures of the factories.
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request

from keyhive.integrations import Principal

ANSWER = {"ok": True}


def open_app() -> FastAPI:
    """No check at all."""
    app = FastAPI()

    @app.get("/hello")
    async def hello() -> dict[str, bool]:
        return ANSWER

    return app


def bearer_app() -> FastAPI:
    """A one-line check: ``Authorization`` must equal ``Bearer $BENCH_TOKEN``."""
    expected = "Bearer " + os.environ["BENCH_TOKEN"]

    async def bearer(request: Request) -> None:
        if request.headers.get("authorization") != expected:
            raise HTTPException(401)

    app = FastAPI()

    @app.get("/hello")
    async def hello(_: Annotated[None, Depends(bearer)]) -> dict[str, bool]:
        return ANSWER

    return app


def keyhive_app() -> FastAPI:
    """KeyhiveAuth over a local KeyHive on ``KEYHIVE_DATABASE_URL`` (settings from the
    environment, so ``KEYHIVE_OAUTH_*`` makes it take access tokens too)."""
    from keyhive import KeyHive
    from keyhive.integrations.fastapi import KeyhiveAuth

    hive = KeyHive()
    auth = KeyhiveAuth(hive)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        hive.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/hello")
    async def hello(_: Annotated[Principal, auth.require("articles:read")]) -> dict[str, bool]:
        return ANSWER

    return app
