"""The portal's pages (GET): the link's first use, the list of keys, one key, the colours."""

from __future__ import annotations

from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keyhive.server.web import portal_views as views
from keyhive.server.web.portal import Portal

#: Notices a redirect may ask for by name (never free text from the URL).
NOTICES: Final = {
    "revoked": "Key revoked: it stops working now.",
}


async def enter(portal: Portal, request: Request) -> Response:
    """Swap a link's one-time code for a session cookie, then on to the keys at once."""
    code = request.path_params.get("code", "")
    session = await run_in_threadpool(portal.hive.open_portal_session, code)
    if session is None:
        return portal.expired_link(request)
    return portal.open(request, session)


async def home(portal: Portal, request: Request) -> Response:
    cookie = portal.cookie(request)
    customer = await portal.customer(cookie)
    context = await run_in_threadpool(views.home, portal.hive, customer)
    return portal.page(request, "portal/home.html", context, cookie=cookie, customer=customer)


async def key(portal: Portal, request: Request) -> Response:
    cookie = portal.cookie(request)
    customer = await portal.customer(cookie)
    secret_id = request.query_params.get("id", "")
    context = await run_in_threadpool(views.key, portal.hive, customer, secret_id)
    context["notice"] = NOTICES.get(request.query_params.get("done", ""))
    return portal.page(request, "portal/key.html", context, cookie=cookie, customer=customer)


async def brand_css(portal: Portal, request: Request) -> Response:
    """The branding's colours as a stylesheet: the pages allow no inline style."""
    brand = portal.brand
    css = f":root {{ --accent: {brand.accent}; --accent-ink: {brand.accent_ink}; }}\n"
    return Response(css, media_type="text/css")
