"""The dashboard's pages (GET): each reads its query, asks :mod:`.views`, renders."""

from __future__ import annotations

from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keyhive.server.web import views
from keyhive.server.web.dashboard import SIGN_IN_LIFETIME, Dashboard, SignedOut
from keyhive.server.web.sessions import is_https

#: Notices a redirect may ask for by name (never free text from the URL).
NOTICES: Final = {
    "created": "Client created.",
    "saved": "Saved.",
    "disabled": "Client disabled: its secrets answer DISABLED.",
    "enabled": "Client enabled.",
    "revoked": "Secret revoked: it answers REVOKED from now on.",
    "signed-out": "Signed out.",
}


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("done", ""))


async def sign_in_form(board: Dashboard, request: Request) -> Response:
    session = board.session(request)
    if session is not None and session.signed_in:
        try:
            await board.admin(session)
        except SignedOut:
            session = None
        else:
            return board.redirect("/")
    fresh = session is None or session.signed_in
    if fresh:
        session = board.sessions.new(board.hive.clock.now(), lifetime=SIGN_IN_LIFETIME)
    context = {"notice": _notice(request)}
    response = board.page(request, "login.html", context, session=session, admin=None)
    if fresh:
        assert session is not None
        board.sessions.write(response, session, secure=is_https(request))
    return response


async def overview(board: Dashboard, request: Request) -> Response:
    session = board.session(request)
    admin = await board.admin(session)
    context = await run_in_threadpool(views.overview, board.hive)
    return board.page(request, "overview.html", context, session=session, admin=admin)


async def clients(board: Dashboard, request: Request) -> Response:
    session = board.session(request)
    admin = await board.admin(session)
    context = await run_in_threadpool(views.clients, board.hive, dict(request.query_params))
    context["notice"] = _notice(request)
    return board.page(request, "clients.html", context, session=session, admin=admin)


async def client(board: Dashboard, request: Request) -> Response:
    session = board.session(request)
    admin = await board.admin(session)
    context = await run_in_threadpool(views.client, board.hive, request.query_params.get("id", ""))
    context["notice"] = _notice(request)
    return board.page(request, "client.html", context, session=session, admin=admin)


async def secret(board: Dashboard, request: Request) -> Response:
    session = board.session(request)
    admin = await board.admin(session)
    params = request.query_params
    context = await run_in_threadpool(
        views.secret, board.hive, params.get("id", ""), params.get("range", "24h")
    )
    context["notice"] = _notice(request)
    return board.page(request, "secret.html", context, session=session, admin=admin)


async def audit(board: Dashboard, request: Request) -> Response:
    session = board.session(request)
    admin = await board.admin(session)
    context = await run_in_threadpool(views.audit, board.hive, dict(request.query_params))
    return board.page(request, "audit.html", context, session=session, admin=admin)
