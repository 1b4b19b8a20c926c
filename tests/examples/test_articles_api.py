"""The example in examples/articles_api: the article's two secrets, end to end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from examples.articles_api.app import create_app
from starlette.testclient import TestClient

from keyhive import KeyHive


@pytest.fixture
def api(hive: KeyHive) -> Iterator[TestClient]:
    with TestClient(create_app(hive)) as client:
        yield client


@pytest.fixture
def secrets(hive: KeyHive) -> tuple[str, str, str]:
    """(client_id, writer token, reader token), as README.md issues them."""
    client = hive.create_client("Blog editor", owner="alice")
    writer = hive.issue_secret(client.client_id, scopes=["articles:create", "articles:update"])
    reader = hive.issue_secret(client.client_id, scopes=["users:read"])
    return client.client_id, writer.token, reader.token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_writer_creates_and_updates_articles(
    api: TestClient, secrets: tuple[str, str, str]
) -> None:
    client_id, writer, _ = secrets
    created = api.post("/articles", json={"title": "Hello"}, headers=auth(writer))
    assert created.status_code == 201
    assert created.json() == {
        "id": 1,
        "title": "Hello",
        "body": "",
        "author": client_id,
        "editor": None,
    }
    updated = api.put("/articles/1", json={"title": "Hello again"}, headers=auth(writer))
    assert updated.status_code == 200
    assert updated.json()["title"] == "Hello again"
    assert updated.json()["editor"] == client_id
    assert api.get("/articles").json()[0]["title"] == "Hello again"  # reading is public


def test_writer_cannot_read_users(api: TestClient, secrets: tuple[str, str, str]) -> None:
    _, writer, _ = secrets
    refused = api.get("/users", headers=auth(writer))
    assert refused.status_code == 403
    assert 'scope="users:read"' in refused.headers["www-authenticate"]


def test_reader_reads_users_but_cannot_write(
    api: TestClient, secrets: tuple[str, str, str]
) -> None:
    client_id, _, reader = secrets
    assert api.get("/users", headers={"X-API-Key": reader}).json()[0]["name"] == "Ada Lovelace"
    assert api.get("/users", auth=(client_id, reader)).status_code == 200
    refused = api.post("/articles", json={"title": "x"}, headers=auth(reader))
    assert refused.status_code == 403
    assert refused.json()["detail"]["scope"] == "articles:create"


def test_anonymous_and_revoked_callers_are_401(
    api: TestClient, hive: KeyHive, secrets: tuple[str, str, str]
) -> None:
    _, _, reader = secrets
    assert api.get("/users").status_code == 401
    hive.revoke(hive.verify(reader).secret_id or "")
    revoked = api.get("/users", headers=auth(reader))
    assert revoked.status_code == 401
    assert revoked.json()["detail"]["code"] == "REVOKED"


def test_unknown_article_is_404_only_after_authentication(
    api: TestClient, secrets: tuple[str, str, str]
) -> None:
    _, writer, _ = secrets
    assert api.put("/articles/9", json={"title": "x"}).status_code == 401
    assert api.put("/articles/9", json={"title": "x"}, headers=auth(writer)).status_code == 404
