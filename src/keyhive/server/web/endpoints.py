"""Running a page's handler: the failures every keyhive page answers alike.

A handler raises :class:`SignedOut` when the request has no live session (the site
decides where that leads), :class:`~.csrf.CsrfFailure` for a form without its token
(403), or a facade error (a readable page with its status). Anything else is logged by
route, never by URL (a URL may hold a one-time code), and answered 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from keyhive.core.errors import KeyhiveError
from keyhive.server.web import csrf
from keyhive.server.web.messages import message_for, status_for


class SignedOut(Exception):
    """The request has no live session."""


class Site(Protocol):
    """What a web app built on these pieces offers its endpoints."""

    def message(self, request: Request, heading: str, message: str, *, status: int) -> Response:
        """A page saying one thing, with this status."""
        ...

    def signed_out(self, request: Request) -> Response:
        """The answer to a request without a live session."""
        ...


S = TypeVar("S", bound=Site)
Handler = Callable[[S, Request], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def guarded(site: S, handler: Handler[S], log: logging.Logger) -> Endpoint:
    """``handler`` as a Starlette endpoint that answers every failure with a page."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(site, request)
        except SignedOut:
            return site.signed_out(request)
        except csrf.CsrfFailure:
            return site.message(
                request,
                "Form refused",
                "This form did not carry its security token (it may have expired). "
                "Go back, reload the page and try again.",
                status=403,
            )
        except KeyhiveError as exc:
            return site.message(request, "Not possible", message_for(exc), status=status_for(exc))
        except HTTPException:
            raise
        except Exception as exc:
            route = getattr(request.scope.get("route"), "path", "?")
            log.error("unexpected %s on %s %s", type(exc).__name__, request.method, route)
            return site.message(
                request, "Something went wrong", "The error was logged.", status=500
            )

    return endpoint


def not_found_handler(site: Site) -> Callable[[Request, Exception], Awaitable[Response]]:
    """Starlette's own 404 and 405 as the site's pages."""

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        text = "There is no such page." if status == 404 else "That request is not allowed here."
        return site.message(
            request, "Not found" if status == 404 else "Not allowed", text, status=status
        )

    return not_found
