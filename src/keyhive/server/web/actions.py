"""The dashboard's actions (POST): CSRF first, then the live admin, then one facade call.

A new token is rendered in the POST's own response (``Cache-Control: no-store``) and
never put in a URL or a redirect; the page then swaps its address for the plain page's,
so reloading shows the page without it. Other actions redirect (303) to the page they
changed. A facade error re-renders the page with the error said in words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from keyhive.core.errors import KeyhiveError
from keyhive.core.model import Issued
from keyhive.server.web import csrf, forms, views
from keyhive.server.web.dashboard import Admin, Dashboard, admits
from keyhive.server.web.messages import failed_context, status_for
from keyhive.server.web.sessions import Session, is_https
from keyhive.server.web.templating import iso, link
from keyhive.service.hive import ADMIN_SCOPE, KeyHive

_REFILLS = ("day", "month")


async def _checked_form(board: Dashboard, request: Request) -> tuple[Session, Admin, FormData]:
    """The form of a signed-in admin: its CSRF token checked before anything else."""
    session = board.session(request)
    form = await request.form()
    csrf.check(session, form)
    assert session is not None
    admin = await board.admin(session)
    return session, admin, form


def _retry(
    board: Dashboard,
    request: Request,
    template: str,
    exc: KeyhiveError,
    context_of: Callable[[], dict[str, Any]],
    session: Session,
    admin: Admin,
    form: Mapping[str, Any] | None = None,
) -> Response:
    """The page again, saying why the action failed; a missing target is a plain 404."""
    context = failed_context(exc, context_of, form)
    return board.page(
        request, template, context, session=session, admin=admin, status=status_for(exc)
    )


# -- sessions -------------------------------------------------------------------------------


async def sign_in(board: Dashboard, request: Request) -> Response:
    session = board.session(request)
    form = await request.form()
    csrf.check(session, form)
    assert session is not None
    token = form.get("token")
    ip = board.proxies.client(
        request.client.host if request.client else None,
        request.headers.get("x-real-ip"),
        request.headers.get("x-forwarded-for"),
    )
    hive = board.hive
    found = None
    wait = None
    if isinstance(token, str) and token.strip() and len(token) <= 1024:
        result = await run_in_threadpool(hive.verify, token.strip(), [ADMIN_SCOPE], ip=ip)
        wait = result.retry_after
        secret, client = result.secret, result.client
        if result.valid and secret is not None and client is not None:
            found = secret.secret_id if admits(secret, client.enabled, hive.clock.now()) else None
    if found is None:
        error = "That is not a valid admin token (a live keyhive secret with keyhive:admin)."
        if wait:
            error = f"Too many failed attempts; wait {int(wait) + 1} seconds and try again."
        # The form again, answered 200: the page itself loaded fine (a 401 would also
        # need a WWW-Authenticate challenge, which a form is not).
        context = {"error": error}
        return board.page(request, "login.html", context, session=session, admin=None)
    fresh = board.sessions.new(hive.clock.now(), subject=found)
    response = board.redirect("/")
    board.sessions.write(response, fresh, secure=is_https(request))
    return response


async def sign_out(board: Dashboard, request: Request) -> Response:
    session = board.session(request)
    form = await request.form()
    csrf.check(session, form)
    response = board.redirect("/login", done="signed-out")
    board.sessions.clear(response, secure=is_https(request))
    return response


# -- clients --------------------------------------------------------------------------------


async def create_client(board: Dashboard, request: Request) -> Response:
    session, admin, form = await _checked_form(board, request)
    hive = board.hive
    try:
        made = await run_in_threadpool(
            lambda: hive.create_client(
                forms.field(form, "name"),
                owner=forms.optional(form, "owner"),
                actor=admin.secret_id,
            )
        )
    except KeyhiveError as exc:
        context = await run_in_threadpool(views.clients, hive, {})
        return _retry(board, request, "clients.html", exc, lambda: context, session, admin, form)
    return board.redirect("/client", id=made.client_id, done="created")


async def client_state(board: Dashboard, request: Request) -> Response:
    session, admin, form = await _checked_form(board, request)
    client_id = forms.field(form, "client_id")
    state = forms.choice(form, "state", ("disable", "enable"))
    hive = board.hive

    def change() -> object:
        if state == "disable":  # never the last admin's client: it would lock everyone out
            return hive.disable_client(client_id, actor=admin.secret_id, keep_admin=True)
        return hive.enable_client(client_id, actor=admin.secret_id)

    try:
        await run_in_threadpool(change)
    except KeyhiveError as exc:
        context = await run_in_threadpool(views.client, hive, client_id)
        return _retry(board, request, "client.html", exc, lambda: context, session, admin)
    return board.redirect("/client", id=client_id, done=f"{state}d")


async def edit_client(board: Dashboard, request: Request) -> Response:
    session, admin, form = await _checked_form(board, request)
    client_id = forms.field(form, "client_id")
    hive = board.hive

    def save() -> None:
        hive.update_client(
            client_id,
            name=forms.field(form, "name"),
            owner=forms.optional(form, "owner"),
            metadata=forms.json_object(form, "metadata"),
            actor=admin.secret_id,
        )

    try:
        await run_in_threadpool(save)
    except KeyhiveError as exc:
        context = await run_in_threadpool(views.client, hive, client_id)
        return _retry(board, request, "client.html", exc, lambda: context, session, admin)
    return board.redirect("/client", id=client_id, done="saved")


# -- secrets --------------------------------------------------------------------------------


def _issue(hive: KeyHive, client_id: str, form: FormData, actor: str) -> Issued:
    return hive.issue_secret(
        client_id,
        scopes=forms.words(form, "scopes"),
        name=forms.optional(form, "name"),
        expires_in=forms.optional(form, "expires_in"),
        rate=forms.optional(form, "rate"),
        credits=forms.count(form, "credits"),
        refill=forms.choice(form, "refill", _REFILLS),
        allowed_ips=forms.words(form, "allowed_ips"),
        actor=actor,
    )


async def issue_secret(board: Dashboard, request: Request) -> Response:
    session, admin, form = await _checked_form(board, request)
    client_id = forms.field(form, "client_id")
    hive = board.hive
    try:
        issued = await run_in_threadpool(_issue, hive, client_id, form, admin.secret_id)
    except KeyhiveError as exc:
        context = await run_in_threadpool(views.client, hive, client_id)
        return _retry(board, request, "client.html", exc, lambda: context, session, admin, form)
    context = await run_in_threadpool(views.client, hive, client_id)
    context["issued"] = issued
    context["replace_url"] = link(board.base, "/client", id=client_id)
    return board.page(request, "client.html", context, session=session, admin=admin)


async def rotate(board: Dashboard, request: Request) -> Response:
    session, admin, form = await _checked_form(board, request)
    secret_id = forms.field(form, "secret_id")
    hive = board.hive
    try:
        issued = await run_in_threadpool(
            lambda: hive.rotate(
                secret_id, grace=forms.field(form, "grace") or "0s", actor=admin.secret_id
            )
        )
    except KeyhiveError as exc:
        context = await run_in_threadpool(views.secret, hive, secret_id)
        return _retry(board, request, "secret.html", exc, lambda: context, session, admin)
    context = await run_in_threadpool(views.secret, hive, issued.secret_id)
    context["issued"] = issued
    context["replace_url"] = link(board.base, "/secret", id=issued.secret_id)
    return board.page(request, "secret.html", context, session=session, admin=admin)


async def revoke(board: Dashboard, request: Request) -> Response:
    session, admin, form = await _checked_form(board, request)
    secret_id = forms.field(form, "secret_id")
    hive = board.hive
    try:
        await run_in_threadpool(
            lambda: hive.revoke(
                secret_id,
                reason=forms.optional(form, "reason"),
                actor=admin.secret_id,
                keep_admin=True,
            )
        )
    except KeyhiveError as exc:
        context = await run_in_threadpool(views.secret, hive, secret_id)
        return _retry(board, request, "secret.html", exc, lambda: context, session, admin)
    return board.redirect("/secret", id=secret_id, done="revoked")


def _secret_changes(hive: KeyHive, secret_id: str, form: FormData) -> dict[str, Any]:
    """Only the fields the form changed: setting credits again would restart their count."""
    current = hive.get_secret(secret_id)
    changes: dict[str, Any] = {}
    scopes = forms.words(form, "scopes")
    if sorted(set(scopes)) != sorted(current.scopes):
        changes["scopes"] = scopes
    if forms.field(form, "expires_at") != iso(current.expires_at):
        changes["expires_at"] = forms.utc_time(form, "expires_at")
    rate = forms.optional(form, "rate")
    if rate != (str(current.rate_limit) if current.rate_limit else None):
        changes["rate"] = rate
    credits = forms.count(form, "credits")
    if credits != current.credits:
        changes["credits"] = credits
    refill = forms.choice(form, "refill", _REFILLS)
    if refill != current.refill:
        changes["refill"] = refill
    networks = forms.words(form, "allowed_ips")
    if sorted(networks) != sorted(current.allowed_ips):
        changes["allowed_ips"] = networks
    return changes


async def edit_secret(board: Dashboard, request: Request) -> Response:
    session, admin, form = await _checked_form(board, request)
    secret_id = forms.field(form, "secret_id")
    hive = board.hive

    def save() -> None:
        changes = _secret_changes(hive, secret_id, form)
        if changes:
            hive.update(secret_id, actor=admin.secret_id, **changes)

    try:
        await run_in_threadpool(save)
    except KeyhiveError as exc:
        context = await run_in_threadpool(views.secret, hive, secret_id)
        return _retry(board, request, "secret.html", exc, lambda: context, session, admin)
    return board.redirect("/secret", id=secret_id, done="saved")
