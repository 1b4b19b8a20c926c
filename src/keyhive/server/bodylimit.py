"""A cap on request body size, so a client cannot make the service buffer megabytes.

A declared Content-Length over the cap is refused before anything is read; a chunked
body is counted as it arrives and refused once it passes the cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keyhive.server.problems import BodyTooLarge, problem

MAX_BODY: Final = 64 * 1024


class BodyLimitMiddleware:
    """``limit`` for every path but those in ``overrides`` (path -> limit of its own)."""

    def __init__(
        self, app: ASGIApp, limit: int = MAX_BODY, overrides: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        self.overrides = dict(overrides or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.overrides.get(scope["path"], self.limit)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            response = problem(413, f"request body is larger than {limit} bytes")
            await response(scope, receive, send)
            return
        seen = 0

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counting, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
