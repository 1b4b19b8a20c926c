"""``/docs`` works with no network: Swagger UI from keyhive itself, under a 'self' CSP."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from keyhive.server.docs import CSP

from .browser import browser
from .serving import Served, serving

__all__ = ["browser"]  # the fixture


@pytest.mark.anyio
async def test_the_page_names_no_third_party(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CSP
    assert "default-src 'self'" in CSP and "unsafe-inline" not in CSP
    assert not re.search(r"(https?:)?//", page.text), "no absolute URL in the page"
    assert "<script>" not in page.text, "no inline script (the CSP forbids it)"
    for src in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        asset = await client.get(src)
        assert asset.status_code == 200, src
        assert asset.content, src
    init = await client.get("/docs/static/keyhive-docs.js")
    assert "validatorUrl: null" in init.text  # no badge fetched from a third party
    assert (await client.get("/docs/static/index.html")).status_code == 404
    assert (await client.get("/docs/static/../../pyproject.toml")).status_code == 404


def test_docs_render_with_every_outside_request_aborted(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with serving(tmp_path_factory.mktemp("docs")) as served:
        seen, aborted, violations = _load_docs(browser, served)
    assert not aborted, f"requests left 127.0.0.1: {aborted}"
    assert {urlsplit(url).hostname for url in seen} == {"127.0.0.1"}
    assert not violations, f"CSP violations: {violations}"


def _load_docs(browser: Any, served: Served) -> tuple[list[str], list[str], list[str]]:
    context = browser.new_context()
    page = context.new_page()
    seen: list[str] = []
    aborted: list[str] = []

    def route(request_route: Any) -> None:
        url = request_route.request.url
        seen.append(url)
        if urlsplit(url).hostname == "127.0.0.1":
            request_route.continue_()
        else:
            aborted.append(url)
            request_route.abort()

    context.route("**/*", route)
    page.add_init_script(
        "window.__csp = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    try:
        page.goto(f"{served.base}/docs", wait_until="load")
        operations = page.locator(".opblock-summary-path")
        operations.first.wait_for(state="visible", timeout=20_000)
        paths = {text.strip() for text in operations.all_inner_texts()}
        assert {"/v1/verify", "/v1/auth", "/v1/clients"} <= {p.replace("\u200b", "") for p in paths}
        assert page.get_by_role("button", name=re.compile("Authorize")).first.is_visible()
        page.wait_for_timeout(300)  # anything loaded late would show up too
        violations: list[str] = page.evaluate("window.__csp")
    finally:
        context.close()
    return seen, aborted, violations
