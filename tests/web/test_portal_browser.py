"""The portal in Debian's chromium: a user of examples/articles_api gets their own key.

A real ``keyhive serve`` and the example app (its own uvicorn process, on the same
SQLite database) on two loopback ports; the browser may visit those two origins only.
Pages answered 4xx on purpose (a used link, another owner's key, an action refused)
are declared with ``watch.expect_error`` first: chromium logs each as a console error,
and any other console error fails the test.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from keyhive import TOKEN_PATTERN
from tests.web.browser import Served, Watch
from tests.web.example_app import Example, example

pytestmark = pytest.mark.slow
__all__ = ["example"]  # the fixture, imported to be found


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


@pytest.fixture
def both(served: Served, example: Example) -> Watch:
    return Watch(served.base, also=(example.base,))


@pytest.fixture
def browser_page(chromium: Any, served: Served, both: Watch) -> Iterator[Any]:
    """A fresh context allowed the example's origin and keyhive's; fails on anything else."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served.base)
    both.attach(context)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
    assert both.unexpected() == [], both.errors
    assert both.foreign == [], f"requests to other hosts: {both.foreign}"


def _admin(served: Served) -> dict[str, str]:
    return {"Authorization": f"Bearer {served.admin_token}"}


def _link(served: Served, owner: str, **body: Any) -> str:
    made = httpx.post(
        f"{served.base}/v1/portal/sessions",
        json={"owner": owner, "allowed_scopes": ["articles:read"], **body},
        headers=_admin(served),
    )
    assert made.status_code == 201, made.text
    return str(made.json()["url"])


def _new_token(page: Any) -> str:
    field = page.get_by_label("New token")
    _expect()(field).to_be_visible()
    token = str(field.input_value())
    assert re.fullmatch(TOKEN_PATTERN, token)
    assert token not in page.url
    return token


def _api(example: Example, token: str) -> int:
    return httpx.get(
        f"{example.base}/users", headers={"Authorization": f"Bearer {token}"}
    ).status_code


def _gate(served: Served, token: str) -> int:
    return httpx.get(f"{served.base}/v1/auth", headers={"X-API-Key": token}).status_code


def _within_a_second(check: Any, expected: int) -> int:
    """The example reads the shared database's change feed: other processes see a change
    within a second (PRODUCT.md), so that is as long as this waits."""
    deadline = time.monotonic() + 1.0
    while True:
        found = check()
        if found == expected or time.monotonic() > deadline:
            return int(found)
        time.sleep(0.05)


def _csrf(page: Any) -> str:
    return str(page.locator('input[name="csrf_token"]').first.input_value())


def test_a_user_of_the_example_gets_rotates_and_revokes_their_own_key(
    browser_page: Any, served: Served, example: Example, both: Watch
) -> None:
    page, expect = browser_page, _expect()
    links: list[str] = []
    page.on("request", lambda r: links.append(r.url) if "/portal/enter/" in r.url else None)

    # The example's own sign-in, then its "Get your API key" page sends us to the portal.
    page.goto(f"{example.base}/account")
    page.get_by_label("Your name").fill("ada")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Get your API key")).to_be_visible()
    page.get_by_role("button", name="Get your API key").click()
    expect(page.get_by_role("heading", name="Your API keys")).to_be_visible()
    assert page.url == f"{served.base}/portal/", "the code left the address bar at once"
    assert len(links) == 1
    cookie = next(c for c in page.context.cookies() if c["name"] == "keyhive_portal")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/portal"
    assert links[0].rsplit("/", 1)[1] not in cookie["value"]

    # Only the allowed scopes can be chosen; one of them, a name, and "Create key".
    boxes = page.get_by_role("checkbox")
    expect(boxes).to_have_count(3)
    assert [boxes.nth(i).get_attribute("value") for i in range(3)] == [
        "articles:create",
        "articles:update",
        "users:read",
    ]
    page.get_by_role("checkbox", name="users:read").check()
    page.get_by_label(re.compile("^Name")).fill("laptop")
    page.get_by_role("button", name="Create key").click()
    token = _new_token(page)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.url == f"{served.base}/portal/", "the address was swapped for the plain page's"

    # The key works against the example API, within its scope only.
    assert _api(example, token) == 200
    wrote = httpx.post(
        f"{example.base}/articles",
        json={"title": "x"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert wrote.status_code == 403

    # Rotate with a grace period: both keys work meanwhile.
    page.reload()
    expect(page.get_by_label("New token")).to_have_count(0)
    page.get_by_role("link", name="laptop").click()
    expect(page.get_by_role("heading", name="Key laptop")).to_be_visible()
    page.get_by_label("Grace period").select_option("1h")
    page.get_by_role("button", name="Rotate").click()
    new_token = _new_token(page)
    assert _api(example, token) == 200 and _api(example, new_token) == 200

    # Revoke the new key: keyhive refuses it at once, the example within its feed's second.
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("Key revoked")
    assert _gate(served, new_token) == 401
    assert _within_a_second(lambda: _api(example, new_token), 401) == 401
    assert _api(example, token) == 200, "the old key is still in its grace period"

    # The link was good once: a second use is refused and shows no portal.
    both.expect_error(410)
    page.goto(links[0])
    expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()
    expect(page.get_by_role("button", name="Create key")).to_have_count(0)

    # The way back leads to the example's page.
    page.goto(f"{served.base}/portal/")
    page.get_by_role("link", name=re.compile("^Return to")).click()
    expect(page.get_by_role("heading", name="Get your API key")).to_be_visible()

    # The audit log shows every portal action under its owner.
    page.goto(f"{served.base}/dashboard")
    page.get_by_label("Admin token").fill(served.admin_token)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{served.base}/dashboard/audit?actor=portal:ada")
    rows = page.locator("table.events tbody tr")
    actions = [rows.nth(i).locator("td").nth(3).inner_text() for i in range(rows.count())]
    assert actions == [
        "secret.revoke",
        "secret.issue",
        "secret.rotate",
        "secret.issue",
        "portal.session.open",
    ]
    log = served.log.read_text() + example.log.read_text()
    for secret in (token, new_token, links[0].rsplit("/", 1)[1]):
        assert secret not in log


def test_scopes_outside_the_session_and_max_secrets_are_refused(
    browser_page: Any, served: Served, both: Watch
) -> None:
    page, expect = browser_page, _expect()
    page.goto(_link(served, "max", allowed_scopes=["articles:read"], max_secrets=2))
    expect(page.get_by_role("heading", name="Your API keys")).to_be_visible()
    for name in ("one", "two"):
        page.get_by_label(re.compile("^Name")).fill(name)
        page.get_by_role("button", name="Create key").click()  # the one scope is ticked
        _new_token(page)
    expect(page.get_by_role("status").first).to_contain_text("2 active keys, at most 2")

    both.expect_error(409)
    page.get_by_label(re.compile("^Name")).fill("three")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("alert")).to_contain_text("the most allowed here is 2")
    expect(page.get_by_label("New token")).to_have_count(0)

    # A forged form with a scope the session does not allow, or keyhive's own, is refused.
    client_id = page.locator('input[name="client_id"]').input_value()
    for scope in ("articles:write", "keyhive:admin", "*"):
        forged = page.request.post(
            f"{served.base}/portal/keys",
            form={"csrf_token": _csrf(page), "client_id": client_id, "scopes": scope},
        )
        assert forged.status == 422, scope
        assert "cannot grant" in forged.text()
    page.goto(f"{served.base}/portal/")
    expect(page.locator("tbody tr")).to_have_count(2)


def test_another_owners_key_is_not_found_and_unchanged(
    browser_page: Any, served: Served, both: Watch
) -> None:
    page, expect = browser_page, _expect()
    bob = httpx.post(
        f"{served.base}/v1/clients",
        json={"name": "bob's app", "owner": "bob"},
        headers=_admin(served),
    ).json()
    secret = httpx.post(
        f"{served.base}/v1/clients/{bob['client_id']}/secrets",
        json={"scopes": ["articles:read"]},
        headers=_admin(served),
    ).json()
    page.goto(_link(served, "carol"))
    expect(page.get_by_role("heading", name="Your API keys")).to_be_visible()
    expect(page.get_by_text("bob's app")).to_have_count(0)

    both.expect_error(404)
    page.goto(f"{served.base}/portal/key?id={secret['secret_id']}")
    expect(page.get_by_role("heading", name="Not possible")).to_be_visible()
    expect(page.get_by_text("No such secret.")).to_be_visible()
    for action in ("rotate", "revoke"):
        forged = page.request.post(
            f"{served.base}/portal/key/{action}",
            form={
                "csrf_token": _portal_csrf(page, served),
                "secret_id": secret["secret_id"],
                "grace": "1h",
            },
        )
        assert forged.status == 404, action
    forged = page.request.post(
        f"{served.base}/portal/keys",
        form={
            "csrf_token": _portal_csrf(page, served),
            "client_id": bob["client_id"],
            "scopes": "articles:read",
        },
    )
    assert forged.status == 404
    after = httpx.get(f"{served.base}/v1/secrets/{secret['secret_id']}", headers=_admin(served))
    assert after.json()["revoked_at"] is None and after.json()["replaced_by"] is None
    listed = httpx.get(
        f"{served.base}/v1/clients/{bob['client_id']}/secrets", headers=_admin(served)
    ).json()
    assert len(listed["items"]) == 1


def _portal_csrf(page: Any, served: Served) -> str:
    """The CSRF token of the portal session in this browser (read off its own page)."""
    html = page.request.get(f"{served.base}/portal/").text()
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_revoking_the_admin_secret_that_made_the_session_ends_it(
    browser_page: Any, served: Served, both: Watch
) -> None:
    page, expect = browser_page, _expect()
    admin_client = httpx.get(
        f"{served.base}/v1/secrets/{served.admin_secret_id}", headers=_admin(served)
    ).json()["client_id"]
    second = httpx.post(
        f"{served.base}/v1/clients/{admin_client}/secrets",
        json={"scopes": ["keyhive:admin"], "name": "the app's portal key"},
        headers=_admin(served),
    ).json()
    made = httpx.post(
        f"{served.base}/v1/portal/sessions",
        json={"owner": "dave", "allowed_scopes": ["articles:read"]},
        headers={"Authorization": f"Bearer {second['token']}"},
    ).json()
    page.goto(made["url"])
    expect(page.get_by_role("heading", name="Your API keys")).to_be_visible()
    revoked = httpx.post(
        f"{served.base}/v1/secrets/{second['secret_id']}/revoke", headers=_admin(served)
    )
    assert revoked.status_code == 200
    both.expect_error(403)
    page.reload()
    expect(page.get_by_role("heading", name="Your session has ended")).to_be_visible()
    expect(page.get_by_role("button", name="Create key")).to_have_count(0)


def _focused(page: Any) -> str:
    return str(
        page.evaluate(
            """() => {
              const el = document.activeElement;
              if (!el) return "";
              const label = el.labels && el.labels.length ? el.labels[0].innerText : "";
              return (label || el.getAttribute("aria-label") || el.innerText || el.value || "")
                .trim();
            }"""
        )
    )


def _tab_to(page: Any, name: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if _focused(page).startswith(name):
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_the_create_flow_works_from_the_keyboard_alone(
    browser_page: Any, served: Served, example: Example
) -> None:
    page, expect = browser_page, _expect()
    page.goto(_link(served, "erin", allowed_scopes=["articles:read", "users:read"]))
    expect(page.get_by_role("heading", name="Your API keys")).to_be_visible()
    _tab_to(page, "users:read")
    page.keyboard.press("Space")
    expect(page.get_by_role("checkbox", name="users:read")).to_be_checked()
    _tab_to(page, "Name")
    page.keyboard.type("keyboard")
    _tab_to(page, "Create key")
    page.keyboard.press("Enter")
    token = _new_token(page)
    expect(page.get_by_label("New token")).to_be_focused()
    # The Copy button is revealed by the deferred script; a person at the keyboard
    # waits for the page to finish loading, and so does this test.
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    page.keyboard.press("Tab")
    assert _focused(page) == "Copy"
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert _api(example, token) == 200
