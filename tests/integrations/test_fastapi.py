"""FastAPI specifics: the Authorize dialog, scopes gathered from routers, declared typos.

No ``from __future__ import annotations``: FastAPI must evaluate annotations naming a local.
"""

from typing import Annotated

import pytest
from fastapi import APIRouter, FastAPI, Request, Security
from starlette.testclient import TestClient

from keyhive import InvalidScope, KeyHive
from keyhive.integrations import Principal
from keyhive.integrations.fastapi import KeyhiveAuth

from .apps import basic, bearer, fastapi_app
from .conftest import Blog


def test_openapi_offers_bearer_api_key_and_basic(hive: KeyHive) -> None:
    schema = TestClient(fastapi_app(hive, all_schemes=True)).get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["keyhiveBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "Authorization: Bearer <token>",
    }
    assert schemes["keyhiveApiKey"]["in"] == "header"
    assert schemes["keyhiveApiKey"]["name"] == "X-API-Key"
    assert schemes["keyhiveBasic"]["scheme"] == "basic"
    security = schema["paths"]["/articles"]["post"]["security"]
    assert {"keyhiveBearer": ["articles:create"]} in security


def test_by_default_openapi_offers_bearer_and_every_header_still_works(
    hive: KeyHive, blog: Blog
) -> None:
    """The lean default documents one scheme; X-API-Key and Basic are accepted all the
    same, and both variants answer alike."""
    for all_schemes in (False, True):
        app = fastapi_app(hive, all_schemes=all_schemes)
        with TestClient(app) as client:
            schema = client.get("/openapi.json").json()
            by_bearer = client.post("/articles", headers=bearer(blog.writer))
            by_header = client.post("/articles", headers={"X-API-Key": blog.writer})
            by_basic = client.post("/articles", headers=basic(blog.client.client_id, blog.writer))
            refused = client.post("/articles", headers={"X-API-Key": blog.writer + "x"})
        schemes = set(schema["components"]["securitySchemes"])
        expected = (
            {"keyhiveBearer", "keyhiveApiKey", "keyhiveBasic"} if all_schemes else {"keyhiveBearer"}
        )
        assert schemes == expected
        assert by_bearer.status_code == by_header.status_code == by_basic.status_code == 200
        assert by_bearer.json() == by_header.json() == by_basic.json()
        assert refused.status_code == 401


def test_router_and_route_scopes_are_all_required(hive: KeyHive, blog: Blog) -> None:
    auth = KeyhiveAuth(hive)
    router = APIRouter(dependencies=[Security(auth, scopes=["articles:create"])])

    @router.put("/articles/{n}")
    async def update(
        n: int, request: Request, who: Annotated[Principal, auth.require("articles:update")]
    ) -> dict[str, object]:
        return {"n": n, "same": request.state.keyhive is who}

    app = FastAPI()
    app.include_router(router)
    updater = hive.issue_secret(blog.client.client_id, scopes=["articles:update"]).token
    creator = hive.issue_secret(blog.client.client_id, scopes=["articles:create"]).token
    with TestClient(app) as client:
        ok = client.put("/articles/7", headers=bearer(blog.writer))
        no_create = client.put("/articles/7", headers=bearer(updater))
        no_update = client.put("/articles/7", headers=bearer(creator))
    assert ok.status_code == 200
    assert ok.json() == {"n": 7, "same": True}
    assert no_create.status_code == no_update.status_code == 403
    assert 'scope="articles:create"' in no_create.headers["www-authenticate"]
    assert 'scope="articles:update"' in no_update.headers["www-authenticate"]


def test_a_misspelt_scope_fails_when_declared(hive: KeyHive) -> None:
    with pytest.raises(InvalidScope):
        KeyhiveAuth(hive).require("articles create")


def test_a_blocking_verifier_is_refused_for_asgi() -> None:
    class Blocking:
        def verify(self, credential: object, scopes: object = (), *, ip: object = None) -> None:
            return None

    with pytest.raises(TypeError, match="async verifier"):
        KeyhiveAuth(Blocking())  # type: ignore[arg-type]
