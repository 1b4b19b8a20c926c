"""The hot routes: POST /v1/verify and GET /v1/auth, answered in front of the framework.

Every request of a protected API passes through one of them, so they are plain ASGI:
a cache hit costs a few microseconds on the event loop; a check that needs the store
takes one hop to the thread pool (through AsyncKeyHive, like every other async caller).
Their OpenAPI entries are written by hand in openapi.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Sequence
from typing import Final
from urllib.parse import parse_qsl

from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from keyhive.core.addresses import TrustedProxies
from keyhive.core.answers import AnswerMemo
from keyhive.core.credentials import Credential, PairCredential, TokenCredential
from keyhive.core.errors import InvalidInput, StorageUnavailable
from keyhive.core.model import Code, RateLimitStatus, Verification
from keyhive.core.quotas import MAX_COST
from keyhive.core.ratelimit_fields import ratelimit_fields
from keyhive.core.scopes import VERIFY_SCOPE, normalize_scopes
from keyhive.server.auth import read_credential
from keyhive.server.metrics import Metrics
from keyhive.server.problems import HTTPProblem, problem, storage_unavailable, validation_problem
from keyhive.server.refusals import Encoded, RefusalMemo, encode_problem
from keyhive.server.schemas import PairVerifyRequest, TokenVerifyRequest, VerifyRequest
from keyhive.service.hive_async import AsyncKeyHive

log = logging.getLogger(__name__)

#: The methods /v1/auth answers: gateways forward the original request's method.
AUTH_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_AUTH_ALLOW: Final = ", ".join(sorted(AUTH_METHODS))
#: Seconds by which a refusal for a throttled id or address is delayed.
TARPIT: Final = 0.25
#: What the caller of POST /v1/verify must hold (one tuple: it keys the refusal memo too).
_VERIFY_REQUIRED: Final = (VERIFY_SCOPE,)
_WANTED: Final = {
    name.encode(): name for name in ("authorization", "x-api-key", "x-real-ip", "x-forwarded-for")
}


async def _send_json(send: Send, payload: bytes) -> int:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
    return 200


async def _send_problem(send: Send, exc: HTTPProblem) -> int:
    """The problem as raw ASGI messages: refusals are the bulk of a flood, keep them cheap."""
    return await _send_encoded(send, encode_problem(exc))


async def _send_encoded(send: Send, answer: Encoded) -> int:
    status, headers, payload = answer
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
    return status


def _json_body(result: Verification) -> bytes:
    return json.dumps(result.to_dict(), separators=(",", ":")).encode()


def _pass_headers(result: Verification) -> tuple[tuple[bytes, bytes], ...]:
    """A /v1/auth pass: the verdict in headers, an empty body (a tuple: it is shared)."""
    answer = [
        (b"content-length", b"0"),
        (b"cache-control", b"no-store"),
        (b"x-keyhive-code", b"VALID"),
        (b"x-keyhive-client-id", (result.client_id or "").encode("latin-1", "replace")),
        (b"x-keyhive-secret-id", (result.secret_id or "").encode()),
        (b"x-keyhive-scopes", " ".join(result.scopes).encode()),
    ]
    if result.limits:
        answer += ratelimit_headers(result.limits)
    return tuple(answer)


def ratelimit_headers(limits: Sequence[RateLimitStatus]) -> list[tuple[bytes, bytes]]:
    """``RateLimit-Policy`` and ``RateLimit`` (draft-ietf-httpapi-ratelimit-headers-10
    and later; see :mod:`keyhive.core.ratelimit_fields`), one member per named limit of
    the secret and its owner. Raw ASGI pairs, because the hot path sends them with every
    answer to a rate-limited secret."""
    return [
        (name.lower().encode(), value.encode("ascii"))
        for name, value in ratelimit_fields(limits).items()
    ]


def _scopes_from_query(values: Sequence[str]) -> tuple[str, ...]:
    """``?scope=`` repeated, each value possibly holding several scopes (space or comma)."""
    return normalize_scopes(part for value in values for part in value.replace(",", " ").split())


class HotPath:
    """Answers POST /v1/verify and /v1/auth without the framework.

    These two routes carry the traffic of whole APIs: a cache hit is answered on the
    event loop without a thread hop, and only misses (a slow hash, a database read) go
    to the thread pool. :class:`keyhive.server.app.KeyhiveAPI` sends them here before
    FastAPI sees the request.
    """

    PATHS: Final = frozenset({"/v1/auth", "/v1/verify"})

    def __init__(
        self,
        hive: AsyncKeyHive,
        metrics: Metrics,
        max_body: int,
        tarpit: float = TARPIT,
        proxies: TrustedProxies | None = None,
    ) -> None:
        self.hive = hive
        self.metrics = metrics
        self.max_body = max_body
        self.tarpit = tarpit
        self.proxies = proxies or TrustedProxies()
        self.payload = AnswerMemo(_json_body, weigh=len)
        self.refusals = RefusalMemo()
        self.pass_headers = AnswerMemo(
            _pass_headers, weigh=lambda pairs: sum(len(k) + len(v) for k, v in pairs)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request whose path is in PATHS (the path is its metrics route).

        Each handler returns the status it sent, so timing needs no wrapper around
        ``send`` (the hot path's every await counts).
        """
        start = time.perf_counter()
        path = scope["path"]
        handler = self._auth if path == "/v1/auth" else self._verify
        status = 500
        try:
            status = await handler(scope, receive, send)
        except HTTPProblem as exc:
            status = await _send_problem(send, exc)
        except StorageUnavailable as exc:
            # The hot routes bypass the app's exception handlers: answer 503 here.
            status = await _send_problem(send, storage_unavailable(exc))
        except Exception:
            # A bug, not bad input: log it (no request data) and answer a problem, not a
            # bare connection drop. If the answer had begun, the server closes it.
            log.exception("unexpected error on %s", path)
            with contextlib.suppress(Exception):
                await _send_problem(send, HTTPProblem(500, "internal error", slug="internal"))
        finally:
            self.metrics.observe(path, scope["method"], status, time.perf_counter() - start)

    async def _verified(
        self, credential: Credential, required: Sequence[str], ip: str | None, cost: int = 1
    ) -> Verification:
        # begin(): a cache hit is answered without a coroutine of verify_credential's own.
        begun = self.hive.begin(credential, required, ip=ip, cost=cost)
        result = begun if isinstance(begun, Verification) else await begun
        if self.tarpit and result.retry_after is not None and result.code is Code.NOT_FOUND:
            # A throttled id or address: answer late. A sleeping coroutine costs nothing,
            # while a brute-force client that waits for answers slows to a crawl and
            # leaves the event loop to legitimate traffic.
            await asyncio.sleep(self.tarpit)
        return result

    async def _auth(self, scope: Scope, receive: Receive, send: Send) -> int:
        if scope["method"] not in AUTH_METHODS:  # TRACE, CONNECT, anything unknown
            raise HTTPProblem(
                405,
                "use a method a gateway forwards",
                slug="method-not-allowed",
                headers={"Allow": _AUTH_ALLOW},
            )
        headers = _headers(scope)
        try:
            required, cost = _query(scope)
        except InvalidInput as exc:
            slug = "invalid-cost" if exc.field == "cost" else "invalid-scope"
            raise HTTPProblem(400, str(exc), slug=slug) from None
        try:
            credential = read_credential(headers)
        except HTTPProblem:
            self.metrics.verified("auth", None)
            raise
        result = await self._verified(credential, required, self._client(scope, headers), cost)
        self.metrics.verified("auth", result.code)
        if not result.valid:
            return await _send_encoded(send, self.refusals(result, required, with_limits=True))
        # Headers only: a gateway reads no body, and an empty one spares the server a
        # second socket write per request (measured: a third more answers per second).
        answer = self.pass_headers(result)
        await send({"type": "http.response.start", "status": 200, "headers": answer})
        await send({"type": "http.response.body", "body": b""})
        return 200

    async def _verify(self, scope: Scope, receive: Receive, send: Send) -> int:
        if scope["method"] != "POST":
            response = problem(405, "use POST", slug="method-not-allowed")
            response.headers["Allow"] = "POST"
            await response(scope, receive, send)
            return response.status_code
        headers = _headers(scope)
        caller = read_credential(headers)
        raw = await self._body(receive)
        allowed = await self._verified(caller, _VERIFY_REQUIRED, self._client(scope, headers))
        if not allowed.valid:
            return await _send_encoded(send, self.refusals(allowed, _VERIFY_REQUIRED))
        body, invalid = parse_verify_body(raw)
        if body is None:
            assert invalid is not None
            await invalid(scope, receive, send)
            return invalid.status_code
        if isinstance(body, PairVerifyRequest):
            credential: Credential = PairCredential(body.client_id, body.secret)
        else:
            credential = TokenCredential(body.token)
        result = await self._verified(credential, body.scopes, body.ip, body.cost)
        self.metrics.verified("verify", result.code)
        return await _send_json(send, self.payload(result))

    def _client(self, scope: Scope, headers: dict[str, str]) -> str | None:
        """The caller's address: the socket peer, or whom a trusted proxy forwards for."""
        peer = scope.get("client")
        return self.proxies.client(
            peer[0] if peer else None, headers.get("x-real-ip"), headers.get("x-forwarded-for")
        )

    async def _body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise HTTPProblem(400, "the client went away", slug="disconnected")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise HTTPProblem(413, f"request body is larger than {self.max_body} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _headers(scope: Scope) -> dict[str, str]:
    """The request headers the hot path reads, by lower-case name (first one wins)."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = _WANTED.get(name)  # ASGI servers give header names in lower case
        if key is not None and key not in found:
            found[key] = value.decode("latin-1")
    return found


def _query(scope: Scope) -> tuple[tuple[str, ...], int]:
    """The scopes required by ``?scope=`` (validated) and the ``?cost=`` to spend (1 if
    absent); raises InvalidInput."""
    query = scope.get("query_string", b"")
    return _parse_query(query) if query else ((), 1)


@functools.lru_cache(maxsize=1024)
def _parse_query(query: bytes) -> tuple[tuple[str, ...], int]:
    """Parsed once per distinct query: a gateway sends the same few on every request."""
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    costs = [v for k, v in pairs if k == "cost"]
    if len(costs) > 1 or (costs and not (costs[0].isascii() and costs[0].isdigit())):
        raise InvalidInput(f"cost must be one whole number from 0 to {MAX_COST}", field="cost")
    cost = int(costs[0]) if costs else 1
    if cost > MAX_COST:
        raise InvalidInput(f"cost must be one whole number from 0 to {MAX_COST}", field="cost")
    return _scopes_from_query([v for k, v in pairs if k == "scope"]), cost


def parse_verify_body(raw: bytes) -> tuple[VerifyRequest | None, Response | None]:
    """The body as a token or a pair request, else the 400/422 problem to answer with.

    The presence of ``token`` picks the form, so errors name the fields of that form.
    """
    if b'"token"' in raw:
        # The common case, parsed and validated in one pass; anything odd takes the
        # general path below, which also words the errors.
        try:
            return TokenVerifyRequest.model_validate_json(raw), None
        except ValidationError:
            pass
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None, problem(400, "the request body is not valid JSON", slug="invalid-json")
    if not isinstance(data, dict):
        error = {"loc": ("body",), "msg": "body must be a JSON object", "type": "model_type"}
        return None, validation_problem([error])
    model = TokenVerifyRequest if "token" in data else PairVerifyRequest
    try:
        return model.model_validate(data), None
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        return None, validation_problem([{**e, "loc": ("body", *e["loc"])} for e in errors])
