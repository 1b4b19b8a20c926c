"""The example in examples/articles_api: the article's two secrets, end to end."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from examples.articles_api.app import USER_KEYS, USER_SCOPES, PortalLinks, create_app
from starlette.testclient import TestClient

from keyhive import KeyHive
from keyhive.server import create_app as create_keyhive


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


# -- "Get your API key": the example's user goes to keyhive's portal ------------------------


@pytest.fixture
def account(hive: KeyHive) -> Iterator[tuple[TestClient, TestClient]]:
    """(the example app, keyhive) where the example asks keyhive's admin API over HTTP."""
    admin = hive.bootstrap_admin()
    assert admin is not None
    keyhive = create_keyhive(hive)
    links = PortalLinks(
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=keyhive),
            base_url="http://keyhive.test",
            headers={"Authorization": f"Bearer {admin.token}"},
        )
    )
    with (
        TestClient(create_app(hive, links), base_url="http://articles.test") as app,
        TestClient(keyhive, base_url="http://keyhive.test") as portal,
    ):
        yield app, portal


def test_a_signed_in_user_is_sent_to_their_own_portal(
    account: tuple[TestClient, TestClient], hive: KeyHive
) -> None:
    app, portal = account
    assert "Sign in" in app.get("/account").text
    assert app.post("/account/api-key", follow_redirects=False).headers["location"] == "/account"
    app.post("/login", data={"user": "ada"})
    page = app.get("/account")
    assert "Signed in as ada" in page.text and "Get your API key" in page.text
    sent = app.post("/account/api-key", follow_redirects=False)
    assert sent.status_code == 303
    link = sent.headers["location"]
    assert link.startswith("http://keyhive.test/portal/enter/")
    opened = portal.get(link)
    assert opened.status_code == 200 and "Keys of ada" in opened.text
    assert 'href="http://articles.test/account"' in opened.text  # the way back
    for scope in USER_SCOPES:
        assert f'value="{scope}"' in opened.text
    session = [e for e in hive.audit() if e.action == "portal.session.create"][-1]
    assert session.after is not None and session.after["max_secrets"] == USER_KEYS
    assert [c.name for c in hive.list_clients(owner="ada")] == ["ada's applications"]


def test_a_forged_login_cookie_is_not_signed_in(account: tuple[TestClient, TestClient]) -> None:
    app, _ = account
    app.cookies.set("articles_user", "ada")
    assert "Sign in" in app.get("/account").text


def test_without_keyhive_settings_the_page_says_what_to_set(hive: KeyHive) -> None:
    with TestClient(create_app(hive, PortalLinks(None))) as app:
        app.post("/login", data={"user": "ada"})
        assert "KEYHIVE_URL and KEYHIVE_ADMIN_TOKEN" in app.get("/account").text
