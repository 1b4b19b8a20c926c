"""Limits on request heads, enforced in the HTTP parser before a request reaches the app.

uvicorn's httptools parser accepts a header of any size: a client could make every
connection hold megabytes, and every structure keyed by a header (a memoised address
parser, say) grow with it. These protocols count the bytes of the request head as the
parser reads them and refuse, then close, once they pass:

- 8 KiB for one header (name and value), else 431 Request Header Fields Too Large;
- 32 KiB for the request line and every header together, else 431;
- 8 KiB for the request target (path and query), else 414 URI Too Long.

A head that is still arriving counts too: data is fed to the parser in slices, so at
most a slice more than the limit is ever held for one connection. After a refusal the
connection is closed the way nginx does ("lingering close"): the answer is sent, the
write side shut, and whatever the client still sends is read and dropped for a moment,
so the client sees the 431 instead of a connection reset.

``keyhive serve`` uses :class:`HttpToolsProtocol`; with plain uvicorn pass
``--http keyhive.server.protocol:HttpToolsProtocol`` (or ``H11Protocol``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any, Final

import h11
import httptools
from uvicorn.protocols.http import h11_impl, httptools_impl

MAX_HEADER: Final = 8 * 1024
MAX_HEAD: Final = 32 * 1024
MAX_TARGET: Final = 8 * 1024
#: Data is fed to the parser at most this much at a time while a head is incomplete.
_SLICE: Final = 8 * 1024
#: Seconds a refused connection keeps reading (and dropping) what the client still sends.
LINGER: Final = 2.0
#: uvicorn's import path for each protocol (``keyhive serve`` passes the first).
HTTPTOOLS: Final = "keyhive.server.protocol:HttpToolsProtocol"
H11: Final = "keyhive.server.protocol:H11Protocol"

_TOO_LARGE: Final = (
    f"a request header is larger than {MAX_HEADER} bytes, "
    f"or all of them together larger than {MAX_HEAD}"
)
_TARGET_TOO_LONG: Final = f"the request target is longer than {MAX_TARGET} bytes"


class HeadTooLarge(Exception):
    """Raised in a parser callback to stop parsing a head that passed a limit."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def refusal(status: int, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The raw HTTP/1.1 answer to a refused head: a problem+json body, then close."""
    detail = _TARGET_TOO_LONG if status == 414 else _TOO_LARGE
    slug = "uri-too-long" if status == 414 else "header-too-large"
    phrase = HTTPStatus(status).phrase
    body = json.dumps(
        {
            "type": f"urn:keyhive:problem:{slug}",
            "title": phrase,
            "status": status,
            "detail": detail,
        },
        separators=(",", ":"),
    ).encode()
    lines = [f"HTTP/1.1 {status} {phrase}".encode()]
    lines += [name + b": " + value for name, value in default_headers]
    lines += [
        b"content-type: application/problem+json",
        b"content-length: %d" % len(body),
        b"connection: close",
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def refuse(protocol: Any, status: int) -> None:
    """Answer ``status`` on one of the protocols below, then close with a linger."""
    protocol._refused = True
    protocol._unset_keepalive_if_required()
    transport: asyncio.Transport = protocol.transport
    cycle = protocol.cycle
    if cycle is not None and not cycle.response_complete:
        # An earlier pipelined request is still being answered: let it finish, then
        # close; this head gets no answer of its own (it would interleave).
        cycle.keep_alive = False
        transport.pause_reading()
        return
    protocol.logger.warning("Request refused with %d: its head is too large.", status)
    transport.write(refusal(status, protocol.server_state.default_headers))
    if transport.can_write_eof():
        transport.write_eof()
        protocol.loop.call_later(LINGER, transport.close)
    else:
        transport.close()


def _pieces(data: bytes) -> Iterator[bytes | memoryview]:
    """``data`` whole when small (the usual request), else in slices."""
    if len(data) <= _SLICE:
        yield data
        return
    view = memoryview(data)
    for start in range(0, len(data), _SLICE):
        yield view[start : start + _SLICE]


class HttpToolsProtocol(httptools_impl.HttpToolsProtocol):
    """uvicorn's httptools protocol with head limits (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._refused = False
        self._in_head = False
        self._began = False
        self._target = 0
        self._head = 0
        # Bytes fed since the current head began, counted per slice: an upper bound on
        # what the parser holds of a header it has not handed over yet.
        self._pending = 0

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering: drop what the client still sends
        self._unset_keepalive_if_required()
        for piece in _pieces(data):
            self._began = False
            try:
                self.parser.feed_data(piece)
            except httptools.HttpParserUpgrade:
                if self._should_upgrade():
                    self.handle_websocket_upgrade()
                else:
                    self._unsupported_upgrade_warning()
                return
            except httptools.HttpParserError as exc:
                cause = exc.__context__
                if isinstance(cause, HeadTooLarge):
                    refuse(self, cause.status)
                else:
                    msg = "Invalid HTTP request received."
                    self.logger.warning(msg)
                    self.send_400_response(msg)
                return
            if self._in_head:
                self._pending = len(piece) if self._began else self._pending + len(piece)
                if self._pending > MAX_HEAD + _SLICE:
                    # More than the limit arrived and the head is not complete: at most
                    # one slice of it came before the head began.
                    refuse(self, 431)
                    return
            if self.transport.is_closing():
                return

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = self._began = True
        self._target = self._head = self._pending = 0

    def on_url(self, url: bytes) -> None:
        self._target += len(url)
        if self._target > MAX_TARGET:
            raise HeadTooLarge(414)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value)
        self._head += size + 4  # ": " and CRLF
        if size > MAX_HEADER or self._head + self._target > MAX_HEAD:
            raise HeadTooLarge(431)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()


class _BoundedConnection(h11.Connection):
    """h11's connection, noting which limit a refused head passed.

    h11 itself caps a head still arriving (``max_incomplete_event_size``, hint 431);
    a parsed request is checked for the same limits as the httptools protocol.
    """

    refused: int | None = None

    def next_event(self) -> Any:
        try:
            event = super().next_event()
            if isinstance(event, h11.Request):
                if len(event.target) > MAX_TARGET:
                    raise h11.RemoteProtocolError("target too long", error_status_hint=414)
                sizes = [len(n) + len(v) for n, v in event.headers.raw_items()]
                if max(sizes, default=0) > MAX_HEADER or (
                    sum(sizes) + 4 * len(sizes) + len(event.target) > MAX_HEAD
                ):
                    # A head that arrived whole in one read passed h11's own check.
                    raise h11.RemoteProtocolError("head too large", error_status_hint=431)
        except h11.RemoteProtocolError as exc:
            if exc.error_status_hint in (414, 431):
                self.refused = exc.error_status_hint
            raise
        return event


class H11Protocol(h11_impl.H11Protocol):
    """uvicorn's h11 protocol with the same head limits (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = _BoundedConnection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering: drop what the client still sends
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        """uvicorn answers every parser error here; a head over a limit gets its own."""
        status = getattr(self.conn, "refused", None)
        if status is not None:
            refuse(self, status)
        else:
            super().send_400_response(msg)
