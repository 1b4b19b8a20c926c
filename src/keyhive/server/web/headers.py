"""Security headers on every page: a strict Content-Security-Policy and no caching.

``default-src 'self'`` with no inline script or style allowed: the pages load only
keyhive's own stylesheet and script. HTML is ``Cache-Control: no-store``, so a page that
showed a new token is never kept by the browser or a proxy; static assets may be cached.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
_COMMON: Final = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """Adds the headers; paths under ``static_prefix`` may be cached for an hour."""

    def __init__(self, app: ASGIApp, static_prefix: str = "/static/") -> None:
        self.app = app
        self.static_prefix = static_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        static = path.removeprefix(root).startswith(self.static_prefix)
        cache = b"public, max-age=3600" if static else b"no-store"

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"cache-control", b"content-security-policy")
                ]
                message["headers"] = [*headers, *_COMMON, (b"cache-control", cache)]
            await send(message)

        await self.app(scope, receive, sending)
