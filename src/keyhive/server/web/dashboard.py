"""The operator's dashboard at ``/dashboard``: pages rendered on the server over the facade.

Who may see a page is decided on every request: the session cookie names an admin
secret, and that secret is read again (revoked, expired, its client disabled or its
``keyhive:admin`` scope gone: signed out). Every change goes through the facade with the
admin's secret_id as the audit actor; the facade's errors become readable pages.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from keyhive.core.addresses import TrustedProxies
from keyhive.core.errors import (
    Conflict,
    InvalidInput,
    KeyhiveError,
    NotFound,
    StorageUnavailable,
)
from keyhive.core.model import Secret
from keyhive.server.web import csrf, views
from keyhive.server.web.headers import SecurityHeaders
from keyhive.server.web.sessions import Session, SessionCodec, is_https
from keyhive.server.web.templating import link, make_templates
from keyhive.service.hive import ADMIN_SCOPE, KeyHive

log = logging.getLogger("keyhive.dashboard")
COOKIE: Final = "keyhive_dashboard"
SESSION_LIFETIME: Final = timedelta(hours=8)
SIGN_IN_LIFETIME: Final = timedelta(hours=1)
_KEYHIVE_ALL: Final = "keyhive:*"


class SignedOut(Exception):
    """The request has no live admin session: go to the sign-in page."""


@dataclass(frozen=True, slots=True)
class Admin:
    """The admin behind a session: their secret_id (the audit actor) and client's name."""

    secret_id: str
    client_name: str


def status_for(exc: KeyhiveError) -> int:
    """The HTTP status a facade error is shown with."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, StorageUnavailable):
        return 503
    if isinstance(exc, InvalidInput):
        return 422
    return 400


def message_for(exc: KeyhiveError) -> str:
    """A facade error as a sentence (ids are public; a not-found names the kind only)."""
    if isinstance(exc, NotFound):
        return f"No such {exc.kind}."
    if isinstance(exc, StorageUnavailable):
        return "The database is not answering right now; try again in a moment."
    text = str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


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
            "csrf_input": _csrf_input(session),
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

    def to_sign_in(self, request: Request) -> Response:
        response = self.redirect("/login")
        self.sessions.clear(response, secure=is_https(request))
        return response


def admits(secret: Secret, client_enabled: bool, now: Any) -> bool:
    """Whether an admin secret may hold a dashboard session now."""
    if secret.is_revoked(now) or secret.is_expired(now) or not client_enabled:
        return False
    return ADMIN_SCOPE in secret.scopes or _KEYHIVE_ALL in secret.scopes


def _csrf_input(session: Session | None) -> Markup:
    if session is None:
        return Markup("")
    field = f'<input type="hidden" name="{csrf.FIELD}" value="{escape(session.csrf)}">'
    return Markup(field)  # noqa: S704 - the value is escaped


Handler = Callable[[Dashboard, Request], Awaitable[Response]]


def dashboard_app(hive: KeyHive, base: str = "/dashboard") -> Starlette:
    """The dashboard as an ASGI app, to mount at ``base``."""
    from keyhive.server.web import actions, pages

    board = Dashboard(hive, base)

    def bind(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(board, request)
            except SignedOut:
                return board.to_sign_in(request)
            except csrf.CsrfFailure:
                return board.message(
                    request,
                    "Form refused",
                    "This form did not carry its security token (it may have expired). "
                    "Go back, reload the page and try again.",
                    status=403,
                )
            except KeyhiveError as exc:
                return board.message(
                    request, "Not possible", message_for(exc), status=status_for(exc)
                )
            except HTTPException:
                raise
            except Exception as exc:
                route = getattr(request.scope.get("route"), "path", "?")
                log.error("unexpected %s on %s %s", type(exc).__name__, request.method, route)
                return board.message(
                    request, "Something went wrong", "The error was logged.", status=500
                )

        return endpoint

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

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        text = "There is no such page." if status == 404 else "That request is not allowed here."
        return board.message(
            request, "Not found" if status == 404 else "Not allowed", text, status=status
        )

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.add_middleware(SecurityHeaders)
    app.state.dashboard = board
    return app


__all__ = ["Admin", "Dashboard", "SignedOut", "dashboard_app"]
