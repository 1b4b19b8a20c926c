"""The dashboard over HTTP without a browser: sessions, CSRF, headers, errors, queries.

On the memory hive with a frozen clock, through the whole app (as ``keyhive serve`` runs it).
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from keyhive import FrozenClock, Issued, KeyHive
from keyhive.server import create_app
from keyhive.server.web.headers import CSP
from tests.web.helpers import csrf_of, sign_in, totals_of

pytestmark = pytest.mark.anyio
POSTS = [
    "/dashboard/logout",
    "/dashboard/login",
    "/dashboard/clients",
    "/dashboard/client/issue",
    "/dashboard/client/state",
    "/dashboard/client/edit",
    "/dashboard/secret/rotate",
    "/dashboard/secret/revoke",
    "/dashboard/secret/edit",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def admin(hive: KeyHive) -> Issued:
    issued = hive.bootstrap_admin()
    assert issued is not None
    return issued


@pytest.fixture
async def http(hive: KeyHive) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(hive))
    async with httpx.AsyncClient(transport=transport, base_url="http://keyhive.test") as c:
        yield c


@pytest.fixture
async def csrf(http: httpx.AsyncClient, admin: Issued) -> str:
    return await sign_in(http, admin.token)


def _alert(html: str) -> str:
    found = re.search(r'role="alert"><strong>Not done:</strong> (.*?)</div>', html, re.S)
    return found.group(1) if found else ""


# -- sessions -------------------------------------------------------------------------------


async def test_the_cookie_is_httponly_strict_and_holds_no_token(
    http: httpx.AsyncClient, admin: Issued
) -> None:
    form = await http.get("/dashboard/login")
    done = await http.post(
        "/dashboard/login", data={"token": admin.token, "csrf_token": csrf_of(form.text)}
    )
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    decoded = base64.urlsafe_b64decode(value.split(".")[0] + "==").decode()
    assert admin.secret_id in decoded and admin.token not in decoded
    assert admin.token not in cookie


async def test_over_https_the_cookie_is_secure(hive: KeyHive, admin: Issued) -> None:
    transport = httpx.ASGITransport(app=create_app(hive))
    async with httpx.AsyncClient(transport=transport, base_url="https://keyhive.test") as c:
        form = await c.get("/dashboard/login")
        assert "Secure" in form.headers["set-cookie"]
        done = await c.post(
            "/dashboard/login", data={"token": admin.token, "csrf_token": csrf_of(form.text)}
        )
        assert "Secure" in done.headers["set-cookie"]


async def test_a_forged_or_tampered_cookie_is_signed_out(
    http: httpx.AsyncClient, csrf: str, admin: Issued
) -> None:
    real = http.cookies["keyhive_dashboard"]
    payload, _, signature = real.partition(".")
    forged = base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(payload + "==").replace(b"v", b"v")
    ).decode()
    for value in (forged + "." + signature[::-1], "x" * 5000, "garbage", payload):
        http.cookies.set("keyhive_dashboard", value, domain="keyhive.test", path="/dashboard")
        page = await http.get("/dashboard/")
        assert page.status_code == 303 and page.headers["location"] == "/dashboard/login"


@pytest.mark.parametrize("change", ["revoke", "expire", "disable", "scopes"])
async def test_the_admin_secret_is_checked_on_every_request(
    http: httpx.AsyncClient, csrf: str, hive: KeyHive, admin: Issued, change: str
) -> None:
    assert (await http.get("/dashboard/clients")).status_code == 200
    if change == "revoke":
        hive.revoke(admin.secret_id)
    elif change == "expire":
        hive.update(admin.secret_id, expires_at=hive.clock.now())
    elif change == "disable":
        hive.disable_client(admin.client_id)
    else:
        hive.update(admin.secret_id, scopes=["keyhive:verify"])
    posted = await http.post("/dashboard/clients", data={"name": "zz-late", "csrf_token": csrf})
    assert posted.status_code == 303 and posted.headers["location"] == "/dashboard/login"
    assert hive.search_clients("zz-late")[1] == 0
    assert "keyhive_dashboard=" in posted.headers["set-cookie"]  # cleared
    page = await http.get("/dashboard/clients")
    assert page.status_code == 303 and page.headers["location"] == "/dashboard/login"


async def test_sessions_end_after_eight_hours(
    http: httpx.AsyncClient, csrf: str, clock: FrozenClock
) -> None:
    clock.advance(timedelta(hours=7, minutes=59))
    assert (await http.get("/dashboard/")).status_code == 200
    clock.advance(timedelta(minutes=2))
    assert (await http.get("/dashboard/")).status_code == 303


async def test_tokens_without_admin_scope_do_not_sign_in(
    http: httpx.AsyncClient, hive: KeyHive, admin: Issued
) -> None:
    client = hive.create_client("gateway")
    for scopes in (["keyhive:verify"], ["*"]):
        token = hive.issue_secret(client.client_id, scopes=scopes).token
        form = await http.get("/dashboard/login")
        done = await http.post(
            "/dashboard/login", data={"token": token, "csrf_token": csrf_of(form.text)}
        )
        assert done.status_code == 200 and "not a valid admin token" in done.text
        assert (await http.get("/dashboard/")).status_code == 303


async def test_sign_out_ends_the_session(http: httpx.AsyncClient, csrf: str) -> None:
    done = await http.post("/dashboard/logout", data={"csrf_token": csrf})
    assert done.status_code == 303
    assert done.headers["location"] == "/dashboard/login?done=signed-out"
    assert (await http.get("/dashboard/")).status_code == 303


# -- CSRF and headers -----------------------------------------------------------------------


@pytest.mark.parametrize("path", POSTS)
async def test_every_form_needs_its_csrf_token(
    http: httpx.AsyncClient, csrf: str, path: str, hive: KeyHive
) -> None:
    before = hive.store.last_audit_id()
    other = csrf[:-1] + ("y" if csrf.endswith("x") else "x")  # never the token itself
    for data in ({}, {"csrf_token": ""}, {"csrf_token": other}):
        refused = await http.post(path, data={"name": "x", "client_id": "x", **data})
        assert refused.status_code == 403, path
        assert "Form refused" in refused.text
    assert hive.store.last_audit_id() == before


async def test_pages_send_a_strict_policy_and_are_never_cached(
    http: httpx.AsyncClient, csrf: str, hive: KeyHive
) -> None:
    client = hive.create_client("acme")
    issued = await http.post(
        "/dashboard/client/issue",
        data={"client_id": client.client_id, "scopes": "a:read", "csrf_token": csrf},
    )
    assert issued.status_code == 200 and 'aria-describedby="new-token-notice"' in issued.text
    token = re.search(r'id="new-token" type="text" readonly value="([^"]+)"', issued.text)
    assert token is not None and hive.verify(token.group(1)).valid
    for response in (issued, await http.get("/dashboard/"), await http.get("/dashboard/login")):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-frame-options"] == "DENY"
        assert " style=" not in response.text and "<script>" not in response.text
    static = await http.get("/dashboard/static/dashboard.js")
    assert static.status_code == 200 and "max-age" in static.headers["cache-control"]
    assert "default-src 'self'" in CSP and "unsafe-inline" not in CSP


async def test_a_token_is_never_logged(
    http: httpx.AsyncClient, admin: Issued, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    csrf = await sign_in(http, admin.token)
    await http.post("/dashboard/login", data={"token": admin.token, "csrf_token": csrf})
    assert admin.token not in caplog.text


# -- readable errors, never a 500 -------------------------------------------------------------


async def test_facade_errors_are_readable_pages(
    http: httpx.AsyncClient, csrf: str, hive: KeyHive
) -> None:
    client = hive.create_client("acme")
    cid = client.client_id
    bad_scope = await http.post(
        "/dashboard/client/issue",
        data={"client_id": cid, "scopes": "no spaces?", "csrf_token": csrf},
    )
    assert bad_scope.status_code == 422 and "scope" in _alert(bad_scope.text).lower()
    assert 'value="no spaces?"' in bad_scope.text  # the form keeps what was typed
    bad_credits = await http.post(
        "/dashboard/client/issue", data={"client_id": cid, "credits": "-1", "csrf_token": csrf}
    )
    assert bad_credits.status_code == 422 and "credits" in _alert(bad_credits.text).lower()
    empty = await http.post("/dashboard/clients", data={"name": " ", "csrf_token": csrf})
    assert empty.status_code == 422 and "name" in _alert(empty.text).lower()
    metadata = await http.post(
        "/dashboard/client/edit",
        data={"client_id": cid, "name": "acme", "metadata": "[1]", "csrf_token": csrf},
    )
    assert metadata.status_code == 422 and "JSON object" in _alert(metadata.text)
    secret = hive.issue_secret(cid)
    hive.revoke(secret.secret_id)
    rotate = await http.post(
        "/dashboard/secret/rotate", data={"secret_id": secret.secret_id, "csrf_token": csrf}
    )
    assert rotate.status_code == 409 and "revoked" in _alert(rotate.text)
    missing = await http.get("/dashboard/client?id=nobody")
    assert missing.status_code == 404 and "No such client" in missing.text
    for url in (
        "/dashboard/secret?id=" + "x" * 5000,
        "/dashboard/clients?page=0",
        "/dashboard/clients?page=99999999999999999999",
        "/dashboard/clients?status=maybe",
        "/dashboard/clients?q=" + "q" * 500,
        "/dashboard/secret?id=" + secret.secret_id + "&range=1y",
        "/dashboard/audit?since=yesterday",
        "/dashboard/audit?before=-3",
        "/dashboard/audit?target=" + "t" * 300,
    ):
        answer = await http.get(url)
        assert 400 <= answer.status_code < 500, url
        assert "<h1" in answer.text


# -- what the pages show ----------------------------------------------------------------------


async def test_clients_search_filter_and_pages(
    http: httpx.AsyncClient, csrf: str, hive: KeyHive
) -> None:
    for n in range(30):
        made = hive.create_client(f"client {n:02}", owner="team-blue" if n % 3 == 0 else None)
        if n % 5 == 0:
            hive.disable_client(made.client_id)
    first = await http.get("/dashboard/clients")
    assert "31 clients" in first.text  # and the admin's own
    assert "Page 1 of 2" in first.text and "Next page" in first.text
    second = await http.get("/dashboard/clients?page=2")
    assert "client 29" in second.text and "Previous page" in second.text
    blue = await http.get("/dashboard/clients?q=TEAM-BLUE")
    assert "10 clients" in blue.text
    off = await http.get("/dashboard/clients?status=disabled")
    assert "6 clients" in off.text and "client 05" in off.text and "client 01" not in off.text
    some = hive.search_clients("client 07")[0][0]
    by_id = await http.get("/dashboard/clients", params={"q": some.client_id[:12]})
    assert "client 07" in by_id.text
    wild = await http.get("/dashboard/clients", params={"q": "%"})
    assert "0 clients" in wild.text


async def test_overview_counts_and_expiring_secrets(
    http: httpx.AsyncClient, csrf: str, hive: KeyHive
) -> None:
    client = hive.create_client("acme")
    soon = hive.issue_secret(client.client_id, name="soon", expires_in="3d")
    hive.issue_secret(client.client_id, name="later", expires_in="30d")
    gone = hive.issue_secret(client.client_id, name="gone", expires_in="2d")
    hive.revoke(gone.secret_id)
    for _ in range(2):
        hive.verify(soon.token)
    page = await http.get("/dashboard/")
    assert re.search(r'<span class="figure">2</span> clients', page.text)
    assert re.search(r'<span class="figure">3</span> active secrets', page.text)  # and admin's
    expiring = page.text.split('id="expiring-heading"')[1]
    assert soon.secret_id in expiring and gone.secret_id not in expiring
    assert "later" not in expiring
    assert totals_of(page.text)["VALID"] >= 2


async def test_editing_a_secret_changes_only_what_changed(
    http: httpx.AsyncClient, csrf: str, hive: KeyHive, admin: Issued
) -> None:
    client = hive.create_client("acme")
    issued = hive.issue_secret(client.client_id, scopes=["a:read"], credits=5, rate="10/minute")
    hive.verify(issued.token)
    hive.flush()
    before = hive.get_secret(issued.secret_id)
    form = {
        "secret_id": issued.secret_id,
        "scopes": "a:read a:write",
        "expires_at": "2031-01-01T00:00:00Z",
        "rate": "10/minute",
        "credits": "5",
        "refill": "",
        "allowed_ips": "",
        "csrf_token": csrf,
    }
    done = await http.post("/dashboard/secret/edit", data=form)
    assert done.status_code == 303
    after = hive.get_secret(issued.secret_id)
    assert after.scopes == ("a:read", "a:write")
    assert after.expires_at is not None and after.expires_at.year == 2031
    assert after.credits_set_at == before.credits_set_at, "credits untouched: count kept"
    events = hive.search_audit(target_id=issued.secret_id, action="secret.update")
    assert len(events) == 1 and events[0].actor == admin.secret_id


async def test_audit_filters(
    http: httpx.AsyncClient, csrf: str, hive: KeyHive, admin: Issued
) -> None:
    await http.post("/dashboard/clients", data={"name": "by-dashboard", "csrf_token": csrf})
    hive.create_client("by-library", actor="script")
    mine = await http.get("/dashboard/audit", params={"actor": admin.secret_id})
    assert "client.create" in mine.text and "by-library" not in mine.text
    made = hive.search_audit(actor=admin.secret_id)[0]
    assert made.after is not None and made.after["name"] == "by-dashboard"
    future = await http.get("/dashboard/audit", params={"since": "2031-01-01T00:00"})
    assert "No events." in future.text
    scripted = await http.get("/dashboard/audit", params={"actor": "script"})
    assert scripted.text.count("<tr>") == 2  # header and one event


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"--xx\r\ngarbage", "multipart/form-data; boundary=xx"),
        (b'{"token": "x"}', "application/json"),
        (b"csrf_token=%ff%fe&token=%00", "application/x-www-form-urlencoded"),
    ],
)
async def test_odd_bodies_are_refused_not_errors(
    http: httpx.AsyncClient, csrf: str, body: bytes, content_type: str
) -> None:
    for path in ("/dashboard/login", "/dashboard/clients"):
        answer = await http.post(path, content=body, headers={"content-type": content_type})
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
