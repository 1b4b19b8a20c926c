"""Helpers for page tests without a browser: sign in over HTTP, read values off a page."""

from __future__ import annotations

import re

import httpx

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TOTAL = re.compile(r'<th scope="row">([A-Z_]+)</th><td>(\d+)</td>')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, token: str, base: str = "/dashboard") -> str:
    """Sign ``http`` in with an admin token; returns the session's CSRF token."""
    form = await http.get(f"{base}/login")
    assert form.status_code == 200, form.text
    done = await http.post(f"{base}/login", data={"token": token, "csrf_token": csrf_of(form.text)})
    assert done.status_code == 303, done.text
    page = await http.get(f"{base}/")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def totals_of(html: str) -> dict[str, int]:
    """The non-zero totals by code of a page's usage table."""
    return {code: int(n) for code, n in _TOTAL.findall(html) if int(n)}
