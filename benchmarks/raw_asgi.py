"""A bare ASGI hello-world: the ceiling for any Python HTTP service under the same uvicorn.

keyhive's HTTP rows are reported as a fraction of this app's requests per second.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

_HEADERS = [(b"content-type", b"text/plain"), (b"content-length", b"2")]
_EMPTY = [(b"content-length", b"0")]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer every HTTP request with ``200 ok``; ignore lifespan events."""
    await _answer(scope, receive, send, _HEADERS, b"ok")


async def empty(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer every HTTP request with a bodiless 200: the fastest possible auth service.

    keyhive's ``GET /v1/auth`` answers a pass with headers and no body, so the gateway
    ceiling is measured with the same shape (a body costs the server a second write).
    """
    await _answer(scope, receive, send, _EMPTY, b"")


async def _answer(
    scope: Scope, receive: Receive, send: Send, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:  # read the request body, as any real endpoint must
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
