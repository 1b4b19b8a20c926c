"""The operator's dashboard at ``/dashboard``: pages rendered on the server over the facade.

Who may see a page is decided on every request: the session cookie names an admin
secret, and that secret is read again (revoked, expired, its client disabled or its
``keyhive:admin`` scope gone: signed out). Every change goes through the facade with the
admin's secret_id as the audit actor; the facade's errors become readable pages.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from keyhive.core.addresses import TrustedProxies
from keyhive.core.errors import InvalidInput, NotFound
from keyhive.core.model import Secret
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
from keyhive.service.hive import ADMIN_SCOPE, KeyHive

log = logging.getLogger("keyhive.dashboard")
COOKIE: Final = "keyhive_dashboard"
SESSION_LIFETIME: Final = timedelta(hours=8)
SIGN_IN_LIFETIME: Final = timedelta(hours=1)
_KEYHIVE_ALL: Final = "keyhive:*"


@dataclass(frozen=True, slots=True)
class Admin:
    """The admin behind a session: their secret_id (the audit actor) and client's name."""

    secret_id: str
    client_name: str


class Dashboard:
    """The dashboard's state: the facade, the session codec and the templates."""

    def __init__(self, hive: KeyHive, base: str = "/dashboard") -> None:
        self.hive = hive
        self.base = base
        self.proxies = TrustedProxies(hive.settings.trusted_proxies)
        self.sessions = SessionCodec(
            hive.server_keys,
            "dashboard session",
            cookie=COOKIE,
            path=base,
            lifetime=SESSION_LIFETIME,
        )
        self.templates = make_templates(
            status_of=lambda secret: views.status_of(secret, hive.clock.now()),
            changes=views.changes,
        )

    # -- sessions --------------------------------------------------------------------------
    def session(self, request: Request) -> Session | None:
        return self.sessions.read(request, self.hive.clock.now())

    async def admin(self, session: Session | None) -> Admin:
        """The live admin behind ``session``, else SignedOut."""
        if session is None or session.subject is None:
            raise SignedOut
        found = await run_in_threadpool(self._live_admin, session.subject)
        if found is None:
            raise SignedOut
        return found

    def _live_admin(self, secret_id: str) -> Admin | None:
        """Read the admin secret afresh: the store is the truth, on every node at once."""
        try:
            secret = self.hive.get_secret(secret_id)
            client = self.hive.get_client(secret.client_id)
        except (NotFound, InvalidInput):
            return None
        if not admits(secret, client.enabled, self.hive.clock.now()):
            return None
        return Admin(secret.secret_id, client.name)

    # -- responses -------------------------------------------------------------------------
    def page(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any],
        *,
        session: Session | None,
        admin: Admin | None,
        status: int = 200,
    ) -> Response:
        values = {
            "base": self.base,
            "admin": admin,
            "csrf_input": csrf.hidden_field(session),
            "error": None,
            "notice": None,
            "replace_url": None,
            "section": None,
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
        session: Session | None = None,
        admin: Admin | None = None,
    ) -> Response:
        context = {"heading": heading, "message": message}
        return self.page(
            request, "message.html", context, session=session, admin=admin, status=status
        )

    def redirect(self, path: str, **params: Any) -> Response:
        return RedirectResponse(link(self.base, path, **params), status_code=303)

    def signed_out(self, request: Request) -> Response:
        """No live admin session: to the sign-in page, forgetting the cookie."""
        response = self.redirect("/login")
        self.sessions.clear(response, secure=is_https(request))
        return response


def admits(secret: Secret, client_enabled: bool, now: Any) -> bool:
    """Whether an admin secret may hold a dashboard session now."""
    if secret.is_revoked(now) or secret.is_expired(now) or not client_enabled:
        return False
    return ADMIN_SCOPE in secret.scopes or _KEYHIVE_ALL in secret.scopes


def dashboard_app(hive: KeyHive, base: str = "/dashboard") -> Starlette:
    """The dashboard as an ASGI app, to mount at ``base``."""
    from keyhive.server.web import actions, pages

    board = Dashboard(hive, base)

    def bind(handler: Handler[Dashboard]) -> Endpoint:
        return guarded(board, handler, log)

    routes = [
        Route("/", bind(pages.overview), methods=["GET"]),
        Route("/login", bind(pages.sign_in_form), methods=["GET"]),
        Route("/login", bind(actions.sign_in), methods=["POST"]),
        Route("/logout", bind(actions.sign_out), methods=["POST"]),
        Route("/clients", bind(pages.clients), methods=["GET"]),
        Route("/clients", bind(actions.create_client), methods=["POST"]),
        Route("/client", bind(pages.client), methods=["GET"]),
        Route("/client/issue", bind(actions.issue_secret), methods=["POST"]),
        Route("/client/state", bind(actions.client_state), methods=["POST"]),
        Route("/client/edit", bind(actions.edit_client), methods=["POST"]),
        Route("/secret", bind(pages.secret), methods=["GET"]),
        Route("/secret/rotate", bind(actions.rotate), methods=["POST"]),
        Route("/secret/revoke", bind(actions.revoke), methods=["POST"]),
        Route("/secret/edit", bind(actions.edit_secret), methods=["POST"]),
        Route("/audit", bind(pages.audit), methods=["GET"]),
        Mount("/static", StaticFiles(packages=[("keyhive.server.web", "static")]), name="static"),
    ]

    not_found = not_found_handler(board)
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.add_middleware(SecurityHeaders)
    app.state.dashboard = board
    return app


__all__ = ["Admin", "Dashboard", "SignedOut", "dashboard_app"]
