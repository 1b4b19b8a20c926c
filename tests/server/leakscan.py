"""A scan for credentials echoed back: every server test's responses and log lines.

Tokens become known three ways: the facade issues them (every ``Issued`` is recorded),
a test presents them in a request (URL, headers, HTTP Basic, body), or a response issues
them (a token no one knew before, in the answer to an issue or rotate call: the one
place a token may appear). Every response (headers and body) and every log line is
then searched for any 12-character run of a known token's random part; a response may
contain only the tokens it issued itself. :func:`install` patches httpx's clients and
``Issued`` for the session; the autouse fixture in conftest.py fails the test that
leaked.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from keyhive.core.model import Issued
from keyhive.core.tokens import TOKEN_PATTERN

RUN = 12
_CLIENT_LOGGERS = frozenset({"httpx", "httpcore"})


@dataclass
class Scanner:
    """The known tokens' runs, and the hits found since the last :meth:`take_hits`."""

    runs: dict[str, str] = field(default_factory=dict)  # 12-char run -> its token
    tokens: set[str] = field(default_factory=set)
    hits: list[str] = field(default_factory=list)
    scanned: int = 0

    def know(self, token: str) -> None:
        match = TOKEN_PATTERN.fullmatch(token)
        if match is None or token in self.tokens:
            return
        self.tokens.add(token)
        secret_part = match.group(3) + match.group(4)
        for start in range(len(secret_part) - RUN + 1):
            self.runs.setdefault(secret_part[start : start + RUN], token)

    def know_all_in(self, text: str) -> None:
        for match in TOKEN_PATTERN.finditer(text):
            self.know(match.group(0))

    def found_in(self, text: str, allowed: Iterable[str] = ()) -> set[str]:
        """The known tokens (but ``allowed``) a run of which occurs in ``text``."""
        excluded = set(allowed)
        found = set()
        runs = self.runs
        for start in range(len(text) - RUN + 1):
            token = runs.get(text[start : start + RUN])
            if token is not None and token not in excluded:
                found.add(token)
        return found

    def check(self, where: str, text: str, allowed: Iterable[str] = ()) -> None:
        self.scanned += 1
        for token in self.found_in(text, allowed):
            self.hits.append(f"{where}: a run of token {token[:8]}… ({len(text)} chars)")

    def take_hits(self) -> list[str]:
        hits, self.hits = self.hits, []
        return hits

    # -- HTTP exchanges --------------------------------------------------------------------
    def exchange(
        self,
        known_before: set[str],
        request: httpx.Request,
        response: httpx.Response,
        body: bytes | None,
    ) -> None:
        """Scan one response; ``known_before`` are the tokens known when it was sent."""
        presented = _tokens(_request_text(request))
        for token in presented:
            self.know(token)
        shown = _response_text(response, body)
        # A token first known while this request ran was issued by it: the one allowed echo.
        issued = _tokens(shown) - known_before - presented
        for token in issued:
            self.know(token)
        self.check(f"{request.method} {request.url.path} -> {response.status_code}", shown, issued)

    # -- log records -----------------------------------------------------------------------
    def record(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in _CLIENT_LOGGERS:
            return  # the test's own HTTP client, logging the URL it requested
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.check(f"log {record.name}:{record.levelname}", text)


def _tokens(text: str) -> set[str]:
    return {m.group(0) for m in TOKEN_PATTERN.finditer(text)}


def _request_text(request: httpx.Request) -> str:
    parts = [str(request.url)]
    for name, value in request.headers.multi_items():
        parts.append(f"{name}: {value}")
        scheme, _, credentials = value.partition(" ")
        if name.lower() == "authorization" and scheme.lower() == "basic":
            try:
                parts.append(base64.b64decode(credentials.strip()).decode("utf-8", "replace"))
            except (binascii.Error, ValueError):
                pass
    try:
        parts.append(request.content.decode("utf-8", "replace"))
    except httpx.RequestNotRead:
        pass
    return "\n".join(parts)


def _response_text(response: httpx.Response, body: bytes | None) -> str:
    parts = [f"{name}: {value}" for name, value in response.headers.multi_items()]
    if body is not None:
        parts.append(body.decode("utf-8", "replace"))
    return "\n".join(parts)


class _Records(logging.Handler):
    def __init__(self, scanner: Scanner) -> None:
        super().__init__(level=logging.DEBUG)
        self.scanner = scanner

    def emit(self, record: logging.LogRecord) -> None:
        self.scanner.record(record)


@contextlib.contextmanager
def install(scanner: Scanner, patch: pytest.MonkeyPatch) -> Iterator[None]:
    """Patch httpx, Issued and the root logger to feed ``scanner`` until the generator ends."""
    original_init = Issued.__init__
    sync_send = httpx.Client.send
    async_send = httpx.AsyncClient.send

    def issued(self: Issued, token: str, *args: Any, **kwargs: Any) -> None:
        original_init(self, token, *args, **kwargs)
        scanner.know(token)

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        before = set(scanner.tokens)
        response = sync_send(self, request, **kwargs)
        streamed = kwargs.get("stream", False)
        scanner.exchange(before, request, response, None if streamed else response.read())
        return response

    async def asend(
        self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
    ) -> httpx.Response:
        before = set(scanner.tokens)
        response = await async_send(self, request, **kwargs)
        streamed = kwargs.get("stream", False)
        body = None if streamed else await response.aread()
        scanner.exchange(before, request, response, body)
        return response

    patch.setattr(Issued, "__init__", issued)
    patch.setattr(httpx.Client, "send", send)
    patch.setattr(httpx.AsyncClient, "send", asend)
    handler = _Records(scanner)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


#: The session's scanner, for helpers that read output outside httpx (server log files).
SCANNER = Scanner()
