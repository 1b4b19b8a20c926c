"""405 Method Not Allowed with the right ``Allow``, for every path of the admin API.

Starlette answers 405 with the methods of the first route whose path matched, though
FastAPI makes one route per method: ``DELETE /v1/clients`` said ``Allow: GET`` when POST
is allowed too. Worse, client ids may hold ``/``, so ``PATCH /v1/clients/x/secrets``
reached the PATCH route of client ``x/secrets``. This middleware looks up the first
path template that matches, in route order (the templates with a suffix come first),
and answers 405 with every method of that template unless the method is one of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from keyhive.server.problems import problem


class MethodGuard:
    """Answers 405 (problem+json, ``Allow``) for a known path and an unknown method."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self._routes = routes
        self._templates: list[tuple[re.Pattern[str], frozenset[str], str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            allowed = self._allowed(scope["path"])
            if allowed is not None and scope["method"] not in allowed[0]:
                response = problem(
                    405,
                    f"{scope['method']} is not allowed here; use {allowed[1]}",
                    slug="method-not-allowed",
                    headers={"Allow": allowed[1]},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _allowed(self, path: str) -> tuple[frozenset[str], str] | None:
        """The methods of the first template matching ``path`` and their Allow value."""
        if self._templates is None:  # routes are complete once requests arrive
            self._templates = list(_templates(self._routes))
        for regex, methods, allow in self._templates:
            if regex.match(path):
                return methods, allow
        return None


def _templates(
    routes: Iterable[BaseRoute],
) -> Iterable[tuple[re.Pattern[str], frozenset[str], str]]:
    """Each path template once, in route order, with the union of its routes' methods."""
    found: dict[str, tuple[re.Pattern[str], set[str]]] = {}
    for route in routes:
        methods: Any = getattr(route, "methods", None)
        regex: Any = getattr(route, "path_regex", None)
        template: Any = getattr(route, "path_format", None)
        if not methods or regex is None or template is None:
            continue
        entry = found.setdefault(template, (regex, set()))
        entry[1].update(methods)
    for regex, methods in found.values():
        yield regex, frozenset(methods), ", ".join(sorted(methods))
