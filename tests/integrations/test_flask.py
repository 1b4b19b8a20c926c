"""Flask specifics: the application-factory pattern and a blocking-only verifier."""

from __future__ import annotations

import pytest

from keyhive import KeyHive
from keyhive.integrations.flask import KeyhiveFlask, principal

from .apps import AsyncStub, bearer
from .conftest import Blog

flask = pytest.importorskip("flask")


def test_init_app_in_a_factory(hive: KeyHive, blog: Blog) -> None:
    keyhive = KeyhiveFlask(hive=hive)

    def create_app() -> flask.Flask:
        app = flask.Flask("factory")
        keyhive.init_app(app)

        @app.get("/me")
        @keyhive.require()
        def me() -> dict[str, object]:
            who = principal()
            assert who is not None
            return {"owner": who.owner}

        return app

    client = create_app().test_client()
    assert client.get("/me", headers=bearer(blog.reader)).get_json() == {"owner": "alice"}
    assert client.get("/me").status_code == 401


def test_async_verifier_is_refused_for_wsgi() -> None:
    with pytest.raises(TypeError, match="blocking"):
        KeyhiveFlask(flask.Flask("x"), AsyncStub(ValueError()))  # type: ignore[arg-type]


def test_init_app_needs_a_verifier() -> None:
    with pytest.raises(TypeError):
        KeyhiveFlask().init_app(flask.Flask("x"))


def test_an_async_view_behind_the_guard(hive: KeyHive, blog: Blog) -> None:
    """Flask runs async views through ensure_sync; the guard keeps doing so for them."""
    pytest.importorskip("asgiref")
    app = flask.Flask("async")
    keyhive = KeyhiveFlask(app, hive)

    @app.get("/me")
    @keyhive.require()
    async def me() -> dict[str, object]:
        who = principal()
        assert who is not None
        return {"owner": who.owner}

    client = app.test_client()
    assert client.get("/me", headers=bearer(blog.reader)).get_json() == {"owner": "alice"}
    assert client.get("/me", headers={"X-API-Key": blog.reader}).status_code == 200
    assert client.get("/me").status_code == 401
