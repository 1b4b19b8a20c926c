"""The portal's actions (POST): CSRF first, then the live session, then one facade call.

As on the dashboard, a new token is rendered in the POST's own response (never in a
URL or a redirect) and the page then swaps its address for the plain page's; a facade
error shows the page again with the error in words. An id that is not the owner's is a
plain 404 page, whatever the action.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from keyhive.core.errors import KeyhiveError
from keyhive.core.portal import PortalSession
from keyhive.server.web import csrf, forms
from keyhive.server.web import portal_views as views
from keyhive.server.web.messages import failed_context, status_for
from keyhive.server.web.portal import Portal
from keyhive.server.web.sessions import Session
from keyhive.server.web.templating import link


async def _checked_form(
    portal: Portal, request: Request
) -> tuple[Session, PortalSession, FormData]:
    """The form of a live session: its CSRF token checked before anything else."""
    cookie = portal.cookie(request)
    form = await request.form()
    csrf.check(cookie, form)
    assert cookie is not None
    customer = await portal.customer(cookie)
    return cookie, customer, form


def _again(
    portal: Portal,
    request: Request,
    template: str,
    exc: KeyhiveError,
    context_of: Callable[[], dict[str, Any]],
    cookie: Session,
    customer: PortalSession,
    form: FormData | None = None,
) -> Response:
    """The page again, saying why the action failed; an id not the owner's is a 404."""
    context = failed_context(exc, context_of, form)
    if form is not None:
        context["chosen"] = [v for v in form.getlist("scopes") if isinstance(v, str)]
    return portal.page(
        request, template, context, cookie=cookie, customer=customer, status=status_for(exc)
    )


async def create(portal: Portal, request: Request) -> Response:
    cookie, customer, form = await _checked_form(portal, request)
    hive = portal.hive
    try:
        issued = await run_in_threadpool(
            lambda: hive.portal_issue(
                customer,
                forms.field(form, "client_id"),
                scopes=forms.checked(form, "scopes"),
                name=forms.optional(form, "name"),
                expires_in=forms.optional(form, "expires_in"),
            )
        )
    except KeyhiveError as exc:
        context = await run_in_threadpool(views.home, hive, customer)
        return _again(
            portal, request, "portal/home.html", exc, lambda: context, cookie, customer, form
        )
    context = await run_in_threadpool(views.home, hive, customer)
    context["issued"] = issued
    context["issued_heading"] = f"Key {issued.secret.name or issued.secret_id} created"
    context["replace_url"] = link(portal.base, "/")
    return portal.page(request, "portal/home.html", context, cookie=cookie, customer=customer)


async def rotate(portal: Portal, request: Request) -> Response:
    cookie, customer, form = await _checked_form(portal, request)
    secret_id = forms.field(form, "secret_id")
    hive = portal.hive
    try:
        issued = await run_in_threadpool(
            lambda: hive.portal_rotate(
                customer, secret_id, grace=forms.field(form, "grace") or "0s"
            )
        )
    except KeyhiveError as exc:
        context = await run_in_threadpool(views.key, hive, customer, secret_id)
        return _again(portal, request, "portal/key.html", exc, lambda: context, cookie, customer)
    context = await run_in_threadpool(views.key, hive, customer, issued.secret_id)
    context["issued"] = issued
    context["issued_heading"] = f"Key {issued.secret_id} created to replace {secret_id}"
    context["replace_url"] = link(portal.base, "/key", id=issued.secret_id)
    return portal.page(request, "portal/key.html", context, cookie=cookie, customer=customer)


async def revoke(portal: Portal, request: Request) -> Response:
    cookie, customer, form = await _checked_form(portal, request)
    secret_id = forms.field(form, "secret_id")
    hive = portal.hive
    try:
        await run_in_threadpool(hive.portal_revoke, customer, secret_id)
    except KeyhiveError as exc:
        context = await run_in_threadpool(views.key, hive, customer, secret_id)
        return _again(portal, request, "portal/key.html", exc, lambda: context, cookie, customer)
    return portal.redirect("/key", id=secret_id, done="revoked")
