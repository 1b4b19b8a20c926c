"""The portal over HTTP without a browser: the link, the cookie, CSRF, headers, isolation,
branding and readable errors, on the memory hive with a frozen clock, through the whole app."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from keyhive import FrozenClock, KeyHive, Settings
from keyhive.server import create_app
from keyhive.server.web.headers import CSP
from tests.web.helpers import csrf_of

pytestmark = pytest.mark.anyio
POSTS = ["/portal/keys", "/portal/key/rotate", "/portal/key/revoke"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _http(hive: KeyHive, base: str = "http://keyhive.test") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(hive)), base_url=base)


@pytest.fixture
async def http(hive: KeyHive) -> AsyncIterator[httpx.AsyncClient]:
    async with _http(hive) as client:
        yield client


def _link(hive: KeyHive, owner: str = "ada", **options: object) -> str:
    options.setdefault("allowed_scopes", ["articles:read", "users:read"])
    made = hive.create_portal_session(owner, base_url="http://keyhive.test", **options)  # type: ignore[arg-type]
    return made.url


async def _enter(http: httpx.AsyncClient, url: str) -> str:
    """Open the link in ``http``; returns the CSRF token of the portal page."""
    opened = await http.get(url)
    assert opened.status_code == 303, opened.text
    page = await http.get("/portal/")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def _token(html: str) -> str:
    found = re.search(r'id="new-token" type="text" readonly value="([^"]+)"', html)
    assert found is not None, "no new token on the page"
    return found.group(1)


def _client_id(html: str) -> str:
    found = re.search(r'name="client_id" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


# -- the link and the cookie ----------------------------------------------------------------


async def test_the_link_swaps_its_code_for_a_lax_cookie_once(
    http: httpx.AsyncClient, hive: KeyHive
) -> None:
    url = _link(hive, ttl="20m")
    code = url.rsplit("/", 1)[1]
    opened = await http.get(url)
    assert opened.status_code == 303 and opened.headers["location"] == "/portal/"
    cookie = opened.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/portal" in cookie
    assert "Max-Age=1200" in cookie and "Secure" not in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    decoded = base64.urlsafe_b64decode(value.split(".")[0] + "==").decode()
    assert code not in decoded
    assert opened.headers["cache-control"] == "no-store"
    assert opened.headers["referrer-policy"] == "no-referrer"
    again = await _http(hive).get(url)  # another browser, the same link
    assert again.status_code == 410 and "This link has expired" in again.text
    assert "Create key" not in again.text and "set-cookie" not in again.headers


async def test_over_https_the_cookie_is_secure(hive: KeyHive) -> None:
    async with _http(hive, "https://keyhive.test") as https:
        opened = await https.get(_link(hive).replace("http://", "https://"))
    assert "Secure" in opened.headers["set-cookie"]


@pytest.mark.parametrize(
    "path", ["/portal/enter/" + "A" * 43, "/portal/enter/short", "/portal/enter/" + "%00" * 50]
)
async def test_unknown_codes_are_the_same_expired_page(http: httpx.AsyncClient, path: str) -> None:
    answer = await http.get(path)
    assert answer.status_code == 410 and "This link has expired" in answer.text


async def test_without_a_live_session_there_is_no_portal(
    http: httpx.AsyncClient, hive: KeyHive, clock: FrozenClock
) -> None:
    for path in ("/portal/", "/portal/key?id=AAAAAAAAAAAAAAAA"):
        cold = await http.get(path)
        assert cold.status_code == 403 and "Your session has ended" in cold.text
    await _enter(http, _link(hive, ttl="5m"))
    clock.advance(timedelta(minutes=5))
    ended = await http.get("/portal/")
    assert ended.status_code == 403 and "Your session has ended" in ended.text
    assert 'keyhive_portal=""' in ended.headers["set-cookie"]  # forgotten


async def test_a_forged_or_other_kind_of_cookie_opens_nothing(
    http: httpx.AsyncClient, hive: KeyHive
) -> None:
    admin = hive.bootstrap_admin()
    assert admin is not None
    form = await http.get("/dashboard/login")
    await http.post(
        "/dashboard/login", data={"token": admin.token, "csrf_token": csrf_of(form.text)}
    )
    dashboard = http.cookies["keyhive_dashboard"]
    for value in (dashboard, "eyJ2IjoxfQ.forged", "x" * 5000):
        http.cookies.set("keyhive_portal", value, path="/portal")
        assert (await http.get("/portal/")).status_code == 403


# -- forms ----------------------------------------------------------------------------------


async def test_every_form_needs_its_csrf_token(http: httpx.AsyncClient, hive: KeyHive) -> None:
    await _enter(http, _link(hive))
    before = hive.store.last_audit_id()
    for path in POSTS:
        for token in (None, "guess"):
            data = {"scopes": "users:read", "secret_id": "AAAAAAAAAAAAAAAA"}
            if token:
                data["csrf_token"] = token
            refused = await http.post(path, data=data)
            assert refused.status_code == 403 and "Form refused" in refused.text, path
    assert hive.store.last_audit_id() == before


async def test_pages_send_the_dashboards_policy_and_are_never_cached(
    http: httpx.AsyncClient, hive: KeyHive
) -> None:
    csrf = await _enter(http, _link(hive))
    page = await http.get("/portal/")
    created = await http.post(
        "/portal/keys",
        data={"csrf_token": csrf, "client_id": _client_id(page.text), "scopes": "users:read"},
    )
    assert created.status_code == 200 and hive.verify(_token(created.text)).valid
    assert 'data-replace-url="/portal/"' in created.text
    for response in (created, page, await http.get("/portal/enter/x")):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-frame-options"] == "DENY"
        assert " style=" not in response.text and "<script>" not in response.text
        assert "http" not in re.sub(r'href="https://app[^"]*"', "", response.text.split("<main")[0])
    css = await http.get("/portal/static/portal.css")
    assert css.status_code == 200 and "max-age" in css.headers["cache-control"]


async def test_actions_are_readable_errors_never_a_500(
    http: httpx.AsyncClient, hive: KeyHive
) -> None:
    csrf = await _enter(http, _link(hive, max_secrets=1))
    page = await http.get("/portal/")
    client_id = _client_id(page.text)
    base = {"csrf_token": csrf, "client_id": client_id}
    cases = [
        ({"scopes": "articles:write"}, 422, "This portal cannot grant articles:write"),
        ({"scopes": "keyhive:admin"}, 422, "cannot grant keyhive:admin"),
        ({}, 422, "Choose at least one scope"),
        ({"scopes": "users:read", "expires_in": "soon"}, 422, "duration"),
        ({"scopes": "users:read", "name": "x" * 300}, 422, "Name is longer than 200"),
    ]
    for extra, status, text in cases:
        answer = await http.post("/portal/keys", data={**base, **extra})
        assert answer.status_code == status and text in answer.text, (extra, answer.text[-800:])
        assert 'role="alert"' in answer.text
    made = await http.post("/portal/keys", data={**base, "scopes": "users:read", "name": "one"})
    assert made.status_code == 200
    full = await http.post("/portal/keys", data={**base, "scopes": "users:read"})
    assert full.status_code == 409 and "the most allowed here is 1" in full.text
    secret_id = _token(made.text).split("_")[1]
    long = await http.post(
        "/portal/key/rotate", data={"csrf_token": csrf, "secret_id": secret_id, "grace": "8d"}
    )
    assert long.status_code == 422 and "at most 7 days" in long.text
    for junk in ("", "x" * 5000, "%00"):
        shown = await http.get("/portal/key", params={"id": junk})
        assert shown.status_code == 404 and "No such secret." in shown.text


async def test_another_owners_keys_answer_404_and_stay_unchanged(
    http: httpx.AsyncClient, hive: KeyHive
) -> None:
    bob = hive.create_client("bob's app", owner="bob")
    bobs = hive.issue_secret(bob.client_id, scopes=["users:read"])
    csrf = await _enter(http, _link(hive, "ada"))
    before = hive.store.last_audit_id()
    page = await http.get("/portal/key", params={"id": bobs.secret_id})
    assert page.status_code == 404 and bobs.secret_id not in page.text
    for path in ("/portal/key/rotate", "/portal/key/revoke"):
        forged = await http.post(
            path, data={"csrf_token": csrf, "secret_id": bobs.secret_id, "grace": "1h"}
        )
        assert forged.status_code == 404 and "No such secret." in forged.text, path
    forged = await http.post(
        "/portal/keys",
        data={"csrf_token": csrf, "client_id": bob.client_id, "scopes": "users:read"},
    )
    assert forged.status_code == 404 and "No such client." in forged.text
    assert hive.store.last_audit_id() == before
    assert hive.verify(bobs.token).valid and hive.get_secret(bobs.secret_id).replaced_by is None
    assert "bob" not in (await http.get("/portal/")).text


async def test_rotate_and_revoke_through_the_pages(http: httpx.AsyncClient, hive: KeyHive) -> None:
    csrf = await _enter(http, _link(hive))
    page = await http.get("/portal/")
    made = await http.post(
        "/portal/keys",
        data={"csrf_token": csrf, "client_id": _client_id(page.text), "scopes": "users:read"},
    )
    old = _token(made.text)
    secret_id = old.split("_")[1]
    rotated = await http.post(
        "/portal/key/rotate", data={"csrf_token": csrf, "secret_id": secret_id, "grace": "1h"}
    )
    new = _token(rotated.text)
    assert rotated.status_code == 200 and hive.verify(old).valid and hive.verify(new).valid
    assert f'data-replace-url="/portal/key?id={new.split("_")[1]}"' in rotated.text
    revoked = await http.post(
        "/portal/key/revoke", data={"csrf_token": csrf, "secret_id": new.split("_")[1]}
    )
    assert revoked.status_code == 303 and "done=revoked" in revoked.headers["location"]
    assert not hive.verify(new).valid
    shown = await http.get(revoked.headers["location"])
    assert "Key revoked" in shown.text and "<button" not in shown.text.split("</header>")[1]


async def test_keys_the_portal_cannot_grant_are_read_only(
    http: httpx.AsyncClient, hive: KeyHive
) -> None:
    await _enter(http, _link(hive))
    client = hive.list_clients(owner="ada")[0]
    broad = hive.issue_secret(client.client_id, scopes=["*"], name="operator's key")
    page = await http.get("/portal/key", params={"id": broad.secret_id})
    assert page.status_code == 200 and "cannot be" in page.text
    assert ">Rotate</button>" not in page.text and ">Revoke</button>" not in page.text


async def test_a_token_or_code_is_never_logged(
    http: httpx.AsyncClient, hive: KeyHive, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = _link(hive)
    csrf = await _enter(http, url)
    await http.get(url)
    page = await http.get("/portal/")
    made = await http.post(
        "/portal/keys",
        data={"csrf_token": csrf, "client_id": _client_id(page.text), "scopes": "users:read"},
    )
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert url.rsplit("/", 1)[1] not in ours and _token(made.text) not in ours
    assert caplog.records, "something was logged (the test client's requests, at least)"


# -- branding -------------------------------------------------------------------------------


async def test_branding_comes_from_the_settings(clock: FrozenClock) -> None:
    settings = Settings(
        hashing_profile="cheapest",
        portal_name="Articles <API>",
        portal_logo="/portal/static/favicon.svg",
        portal_accent="#0B57D0",
    )
    hive = KeyHive("memory://", settings=settings, clock=clock)
    async with _http(hive) as http:
        await _enter(http, _link(hive, return_url="https://app.example/account?x=1&y=2"))
        page = await http.get("/portal/")
        assert "<title>Your API keys · Articles &lt;API&gt;</title>" in page.text
        assert '<img class="logo" src="/portal/static/favicon.svg" alt=""' in page.text
        assert 'href="https://app.example/account?x=1&amp;y=2"' in page.text
        assert "Return to Articles &lt;API&gt;" in page.text
        css = await http.get("/portal/brand.css")
        assert css.headers["content-type"].startswith("text/css")
        assert css.text == ":root { --accent: #0b57d0; --accent-ink: #ffffff; }\n"
    hive.close()


def test_a_bad_branding_setting_stops_the_app_at_start() -> None:
    from keyhive.core.errors import ConfigurationError

    hive = KeyHive("memory://", settings=Settings(portal_logo="https://cdn.example/logo.png"))
    with pytest.raises(ConfigurationError, match="KEYHIVE_PORTAL_LOGO"):
        create_app(hive)
    hive.close()


async def test_an_owner_name_is_escaped(http: httpx.AsyncClient, hive: KeyHive) -> None:
    await _enter(http, _link(hive, "<script>alert(1)</script>"))
    page = await http.get("/portal/")
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(1)" in page.text


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe", "application/x-www-form-urlencoded"),
        (b"--xx\r\ngarbage", "multipart/form-data; boundary=xx"),
        (b'{"scopes": ["users:read"]}', "application/json"),
        (b"csrf_token=%ff%fe&scopes=%00", "application/x-www-form-urlencoded"),
    ],
)
async def test_odd_bodies_are_refused_not_errors(
    http: httpx.AsyncClient, hive: KeyHive, body: bytes, content_type: str
) -> None:
    await _enter(http, _link(hive))
    for path in POSTS:
        answer = await http.post(path, content=body, headers={"content-type": content_type})
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
