"""The self-service portal at ``/portal``: an API's own customer manages their own keys.

A visitor arrives with a one-time link (``POST /v1/portal/sessions`` or ``keyhive portal
link``). ``/portal/enter/<code>`` swaps the code for a cookie bound to the portal
session and redirects to ``/portal`` at once, so the code leaves the address bar. The
cookie (HttpOnly, ``SameSite=Lax``: the visitor comes from the API's own site, so a
strict cookie would not be sent on that first redirect; Secure over HTTPS) holds only
the session's id and a CSRF secret, and ends when the session does. Every request reads
the session afresh, so an expired session, or one whose admin secret was revoked, ends
on the next click. Pages show and change only the session's owner's keys, through the
facade's ``portal_*`` calls, audited as ``portal:<owner>``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from keyhive.core.portal import MAX_TTL, PortalSession
from keyhive.server.web import csrf, views
from keyhive.server.web.endpoints import (
    Endpoint,
    Handler,
    SignedOut,
    guarded,
    not_found_handler,
)
from keyhive.server.web.headers import SecurityHeaders
from keyhive.server.web.sessions import Session, SessionCodec, is_https
from keyhive.server.web.templating import link, make_templates
from keyhive.service.hive import KeyHive

log = logging.getLogger("keyhive.portal")
COOKIE: Final = "keyhive_portal"


class Portal:
    """The portal's state: the facade, its branding, the cookie codec and the templates."""

    def __init__(self, hive: KeyHive, base: str = "/portal") -> None:
        self.hive = hive
        self.base = base
        self.brand = hive.settings.branding()  # a bad setting stops the server at start
        self.sessions = SessionCodec(
            hive.server_keys,
            "portal session",
            cookie=COOKIE,
            path=base,
            lifetime=MAX_TTL,
            same_site="lax",
        )
        self.templates = make_templates(
            status_of=lambda secret: views.status_of(secret, hive.clock.now()),
        )

    # -- sessions --------------------------------------------------------------------------
    def cookie(self, request: Request) -> Session | None:
        return self.sessions.read(request, self.hive.clock.now())

    async def customer(self, cookie: Session | None) -> PortalSession:
        """The live portal session behind the cookie, else SignedOut."""
        if cookie is None or cookie.subject is None:
            raise SignedOut
        found = await run_in_threadpool(self.hive.portal_session, cookie.subject)
        if found is None:
            raise SignedOut
        return found

    def open(self, request: Request, session: PortalSession) -> Response:
        """The answer to a link's first use: a cookie for its session, and on to /portal."""
        now = self.hive.clock.now()
        left = session.expires_at - now
        cookie = self.sessions.new(now, subject=session.session_id, lifetime=left)
        response = self.redirect("/")
        self.sessions.write(response, cookie, secure=is_https(request), max_age=left)
        return response

    # -- responses -------------------------------------------------------------------------
    def page(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any],
        *,
        cookie: Session | None,
        customer: PortalSession | None,
        status: int = 200,
    ) -> Response:
        values = {
            "base": self.base,
            "brand": self.brand,
            "customer": customer,
            "csrf_input": csrf.hidden_field(cookie),
            "error": None,
            "notice": None,
            "replace_url": None,
            **context,
        }
        return self.templates.TemplateResponse(request, template, values, status_code=status)

    def message(
        self,
        request: Request,
        heading: str,
        message: str,
        *,
        status: int,
        cookie: Session | None = None,
        customer: PortalSession | None = None,
        back: bool = True,
    ) -> Response:
        """A page saying one thing; ``back`` offers the way to the keys (not when the
        session is gone: that link would lead nowhere)."""
        context = {"heading": heading, "message": message, "back": back}
        return self.page(
            request,
            "portal/message.html",
            context,
            cookie=cookie,
            customer=customer,
            status=status,
        )

    def signed_out(self, request: Request) -> Response:
        """No live portal session: say so (there is no sign-in here), forget the cookie."""
        response = self.message(
            request,
            "Your session has ended",
            "This page opens only from a fresh link, and that session has expired or was "
            "closed. Go back to the site that sent you here and open the page again.",
            status=403,
            back=False,
        )
        self.sessions.clear(response, secure=is_https(request))
        return response

    def expired_link(self, request: Request) -> Response:
        """A code that opens nothing: unknown, used already, or expired (one answer)."""
        return self.message(
            request,
            "This link has expired",
            "A link to this page works once, for a short time, and this one cannot be "
            "used any more. Go back to the site that sent you here and open the page again.",
            status=410,
            back=False,
        )

    def redirect(self, path: str, **params: Any) -> Response:
        return RedirectResponse(link(self.base, path, **params), status_code=303)


def portal_app(hive: KeyHive, base: str = "/portal") -> Starlette:
    """The portal as an ASGI app, to mount at ``base``."""
    from keyhive.server.web import portal_actions as actions
    from keyhive.server.web import portal_pages as pages

    portal = Portal(hive, base)

    def bind(handler: Handler[Portal]) -> Endpoint:
        return guarded(portal, handler, log)

    routes = [
        Route("/", bind(pages.home), methods=["GET"]),
        Route("/enter/{code}", bind(pages.enter), methods=["GET"]),
        Route("/key", bind(pages.key), methods=["GET"]),
        Route("/keys", bind(actions.create), methods=["POST"]),
        Route("/key/rotate", bind(actions.rotate), methods=["POST"]),
        Route("/key/revoke", bind(actions.revoke), methods=["POST"]),
        Route("/brand.css", bind(pages.brand_css), methods=["GET"]),
        Mount("/static", StaticFiles(packages=[("keyhive.server.web", "static")]), name="static"),
    ]
    not_found = not_found_handler(portal)
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.add_middleware(SecurityHeaders)
    app.state.portal = portal
    return app


__all__ = ["Portal", "portal_app"]
