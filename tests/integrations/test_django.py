"""Django specifics: request.keyhive on public views, DRF's per-method scopes, settings."""

from __future__ import annotations

import pytest

from keyhive import KeyHive
from keyhive.integrations import LocalVerifier

from .apps import bearer
from .conftest import Blog

pytest.importorskip("django")
pytest.importorskip("rest_framework")

from django.test import Client, override_settings

from keyhive.integrations.django import get_verifier


@pytest.fixture
def client(hive: KeyHive) -> Client:
    with override_settings(KEYHIVE={"VERIFIER": hive}):
        yield Client()


def test_middleware_sets_request_keyhive(client: Client, blog: Blog) -> None:
    assert client.get("/public").json() == {"client_id": None}
    who = client.get("/public", headers=bearer(blog.reader)).json()
    assert who == {"client_id": blog.client.client_id}


def test_middleware_answers_a_failing_credential_even_on_public_views(
    client: Client, hive: KeyHive, blog: Blog
) -> None:
    hive.disable_client(blog.client.client_id)
    response = client.get("/public", headers=bearer(blog.reader))
    assert response.status_code == 401
    assert response.json()["code"] == "DISABLED"


def test_drf_scopes_per_method(client: Client, hive: KeyHive, blog: Blog) -> None:
    with override_settings(MIDDLEWARE=[]):
        created = client.post("/drf/articles", headers=bearer(blog.writer))
        read = client.get("/drf/articles", headers=bearer(blog.writer))
        unlisted = client.put("/drf/articles", headers=bearer(blog.writer))
    assert created.status_code == 200
    assert read.status_code == 403
    assert 'scope="articles:read"' in read["WWW-Authenticate"]
    assert unlisted.status_code == 403


def test_drf_reuses_what_the_middleware_found(client: Client, blog: Blog) -> None:
    response = client.get("/drf/users", headers=bearer(blog.reader))
    assert response.status_code == 200
    assert response.json()["client_id"] == blog.client.client_id


def test_settings_name_the_verifier(db_url: str) -> None:
    with override_settings(KEYHIVE={"DATABASE_URL": db_url}):
        local = get_verifier()
        assert isinstance(local, LocalVerifier)
        assert local.hive.settings.database_url == db_url
        assert get_verifier() is local
        local.hive.close()
    with override_settings(KEYHIVE={"REMOTE_URL": "http://keyhive.test", "REMOTE_TOKEN": "kh_t"}):
        remote = get_verifier()
        assert type(remote).__name__ == "RemoteVerifier"
        assert "kh_t" not in repr(remote)
