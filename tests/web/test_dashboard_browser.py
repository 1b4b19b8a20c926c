"""The dashboard in Debian's chromium against a real ``keyhive serve`` (see browser.py).

The operator's whole day in one flow, then the refusals (wrong token, a form without
its CSRF token) and the issue flow from the keyboard alone.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from keyhive import TOKEN_PATTERN
from tests.web.browser import Served

pytestmark = pytest.mark.slow


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _sign_in(page: Any, token: str) -> None:
    page.goto("/dashboard")
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    _expect()(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()


def _totals(page: Any) -> dict[str, int]:
    rows = page.locator("table.totals tbody tr").all()
    found = {}
    for row in rows:
        code, count = row.locator("th").inner_text(), int(row.locator("td").inner_text())
        if count:
            found[code] = count
    return found


def _gate(served: Served, token: str, scope: str | None = None) -> int:
    params = {"scope": scope} if scope else None
    response = httpx.get(f"{served.base}/v1/auth", headers={"X-API-Key": token}, params=params)
    return response.status_code


def _new_token(page: Any) -> str:
    field = page.get_by_label("New token")
    _expect()(field).to_be_visible()
    token = str(field.input_value())
    assert re.fullmatch(TOKEN_PATTERN, token)
    assert token not in page.url
    _expect()(page.get_by_text("it will not be shown again")).to_be_visible()
    return token


def test_an_operator_session_from_sign_in_to_sign_out(page: Any, served: Served) -> None:
    expect = _expect()
    # A wrong token is refused, and the page says so.
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/dashboard/login$"))
    page.get_by_label("Admin token").fill("kh_" + "A" * 16 + "_" + "b" * 49)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not a valid admin token")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    _sign_in(page, served.admin_token)
    cookie = next(c for c in page.context.cookies() if c["name"] == "keyhive_dashboard")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
    assert served.admin_token not in cookie["value"]

    # Create a client.
    page.get_by_role("link", name="Clients", exact=True).click()
    page.get_by_label("Name", exact=True).fill("Reporting team")
    page.get_by_role("textbox", name=re.compile("^Owner")).fill("team-7")
    page.get_by_role("button", name="New client").click()
    expect(page.get_by_role("heading", name="Client Reporting team")).to_be_visible()

    # Issue a secret: the token is shown once, with a copy button; gone after reload.
    page.locator("#issue-name").fill("ci")
    page.get_by_label("Scopes").fill("articles:read")
    page.get_by_role("button", name="Issue secret").click()
    token = _new_token(page)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert "/client/issue" not in page.url, "the address was swapped for the plain page's"
    page.reload()
    expect(page.get_by_role("heading", name="Client Reporting team")).to_be_visible()
    expect(page.get_by_label("New token")).to_have_count(0)
    assert token not in page.content()

    # Verify it through the gateway endpoint; the counts show in the secret's chart.
    assert [_gate(served, token, "articles:read") for _ in range(3)] == [200] * 3
    assert _gate(served, token, "articles:write") == 403
    page.get_by_role("link", name="ci").click()
    expect(page.get_by_role("heading", name="Secret ci")).to_be_visible()
    expect(page.get_by_role("img", name="Verifications per hour, last 24 hours")).to_be_visible()
    assert _totals(page) == {"VALID": 3, "INSUFFICIENT_SCOPE": 1}
    page.get_by_role("link", name="7 days").click()
    assert _totals(page) == {"VALID": 3, "INSUFFICIENT_SCOPE": 1}
    old_id = token.split("_")[1]

    # Rotate with a grace period: both tokens pass meanwhile.
    page.get_by_label("Grace period").fill("1h")
    page.get_by_role("button", name="Rotate").click()
    new_token = _new_token(page)
    new_id = new_token.split("_")[1]
    assert _gate(served, token) == 200 and _gate(served, new_token) == 200
    expect(page.locator(".chain li")).to_have_count(2)

    # Revoke the new one: /v1/auth refuses it at once.
    page.get_by_label("Reason").fill("test over")
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("Secret revoked")
    assert _gate(served, new_token) == 401

    # Both changes are in the audit log, by this admin; the filters narrow it.
    page.get_by_role("link", name="Audit log").click()
    rows = page.locator("table.events tbody tr")
    rotate = rows.filter(has_text="secret.rotate")
    revoke = rows.filter(has_text="secret.revoke")
    expect(rotate).to_have_count(1)
    expect(rotate).to_contain_text(old_id)
    expect(revoke).to_contain_text(new_id)
    expect(revoke).to_contain_text(served.admin_secret_id)
    page.get_by_label("Action").fill("secret.revoke")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    page.get_by_label("Action").fill("")
    page.get_by_label("Target").fill(old_id)
    page.get_by_role("button", name="Filter").click()
    expect(rows.filter(has_text="secret.issue")).to_have_count(1)

    # A form posted without its CSRF token is refused, even with the session cookie.
    refused = page.request.post(f"{served.base}/dashboard/clients", form={"name": "forged"})
    assert refused.status == 403
    refused = page.request.post(
        f"{served.base}/dashboard/clients", form={"name": "forged", "csrf_token": "guess"}
    )
    assert refused.status == 403
    page.get_by_role("link", name="Clients", exact=True).click()
    expect(page.get_by_role("link", name="forged")).to_have_count(0)

    # Every page answered: overview again, then sign out.
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("img", name=re.compile("last 24 hours"))).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("Signed out")
    page.goto("/dashboard/audit")
    expect(page).to_have_url(re.compile(r"/dashboard/login$"))
    log = served.log.read_text()
    for secret in (served.admin_token, token, new_token):
        assert secret not in log


def test_revoking_the_admin_secret_signs_the_session_out(page: Any, served: Served) -> None:
    expect = _expect()
    admin = httpx.post(
        f"{served.base}/v1/clients/"
        + httpx.get(
            f"{served.base}/v1/secrets/{served.admin_secret_id}",
            headers={"Authorization": f"Bearer {served.admin_token}"},
        ).json()["client_id"]
        + "/secrets",
        json={"scopes": ["keyhive:admin"], "name": "second admin"},
        headers={"Authorization": f"Bearer {served.admin_token}"},
    ).json()
    _sign_in(page, admin["token"])
    page.get_by_role("link", name="Clients", exact=True).click()
    expect(page.get_by_role("heading", name="Clients", exact=True)).to_be_visible()
    revoked = httpx.post(
        f"{served.base}/v1/secrets/{admin['secret_id']}/revoke",
        headers={"Authorization": f"Bearer {served.admin_token}"},
    )
    assert revoked.status_code == 200
    page.reload()
    expect(page).to_have_url(re.compile(r"/dashboard/login$"))


def _focused(page: Any) -> str:
    """The accessible name of the focused element, roughly as a screen reader says it."""
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


def _tab_to(page: Any, name: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if _focused(page).startswith(name):
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_the_issue_flow_works_from_the_keyboard_alone(page: Any, served: Served) -> None:
    expect = _expect()
    page.goto("/dashboard")
    assert _focused(page) == "Admin token", "the token field has the focus"
    page.keyboard.type(served.admin_token)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    _tab_to(page, "Clients")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Clients", exact=True)).to_be_visible()
    _tab_to(page, "Name")
    page.keyboard.type("keyboard client")
    _tab_to(page, "New client")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Client keyboard client")).to_be_visible()
    _tab_to(page, "Scopes")
    page.keyboard.type("reports:read")
    _tab_to(page, "Issue secret")
    page.keyboard.press("Enter")
    token = _new_token(page)
    expect(page.get_by_label("New token")).to_be_focused()  # autofocus: ready to copy
    # The Copy button is revealed by the deferred script; a person at the keyboard
    # waits for the page to finish loading, and so does this test.
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    page.keyboard.press("Tab")
    assert _focused(page) == "Copy"
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert _gate(served, token, "reports:read") == 200
    # Leaving the page and coming back does not bring the token back either.
    _tab_to(page, "Audit log")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", name="Client keyboard client")).to_be_visible()
    expect(page.get_by_label("New token")).to_have_count(0)
