"""The hot routes: POST /v1/verify and GET /v1/auth, answered in front of the framework.

Every request of a protected API passes through one of them, so they are plain ASGI:
a cache hit costs a few microseconds on the event loop; a miss (a slow hash) takes one
hop to the thread pool. Their OpenAPI entries are written by hand in openapi.py.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final
from urllib.parse import parse_qsl

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from keyhive.credentials import Credential, PairCredential, TokenCredential
from keyhive.errors import InvalidInput
from keyhive.hive import VERIFY_SCOPE, KeyHive
from keyhive.model import Verification
from keyhive.scopes import normalize_scopes
from keyhive.server.auth import check_caller, grants, read_credential, rejection
from keyhive.server.metrics import Metrics, timed
from keyhive.server.problems import HTTPProblem, problem, validation_problem
from keyhive.server.schemas import PairVerifyRequest, TokenVerifyRequest, VerifyRequest

_WANTED: Final = frozenset({"authorization", "x-api-key", "x-real-ip", "x-forwarded-for"})


async def _send_json(
    send: Send, body: dict[str, Any], extra: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    payload = json.dumps(body, separators=(",", ":")).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"cache-control", b"no-store"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _scopes_from_query(values: Sequence[str]) -> tuple[str, ...]:
    """``?scope=`` repeated, each value possibly holding several scopes (space or comma)."""
    return normalize_scopes(part for value in values for part in value.replace(",", " ").split())


def client_ip(headers: Mapping[str, str]) -> str | None:
    """The forwarded client's address: X-Real-IP, else the last X-Forwarded-For hop.

    The last hop is the one the gateway in front of keyhive appended; earlier entries
    came from the client and could be forged. Unreadable values count as unknown.
    """
    candidate = headers.get("x-real-ip")
    if not candidate:
        forwarded = headers.get("x-forwarded-for", "")
        candidate = forwarded.rsplit(",", 1)[-1]
    try:
        return str(ipaddress.ip_address(candidate.strip()))
    except ValueError:
        return None


class HotPath:
    """Answers POST /v1/verify and /v1/auth itself and hands every other request to ``app``.

    These two routes carry the traffic of whole APIs, so they skip the framework: a
    cache hit is answered on the event loop without a thread hop, and only misses (a
    slow hash, a database read) go to the thread pool.
    """

    def __init__(self, app: ASGIApp, hive: KeyHive, metrics: Metrics, max_body: int) -> None:
        self.app = app
        self.hive = hive
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == "/v1/auth":
                await self._timed("/v1/auth", self._auth, scope, receive, send)
                return
            if path == "/v1/verify":
                await self._timed("/v1/verify", self._verify, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _timed(
        self,
        route: str,
        handler: Callable[[Scope, Receive, Send], Awaitable[None]],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        async def answering(scope: Scope, receive: Receive, send: Send) -> None:
            try:
                await handler(scope, receive, send)
            except HTTPProblem as exc:
                await exc.response()(scope, receive, send)

        await timed(self.metrics, lambda _scope: route, answering, scope, receive, send)

    async def _verified(
        self, credential: Credential, required: Sequence[str], ip: str | None
    ) -> Verification:
        hit = self.hive.verify_cached(credential, required, ip=ip)
        if hit is not None:
            return hit
        return await run_in_threadpool(self.hive.verify_credential, credential, required, ip=ip)

    async def _auth(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        try:
            required = _scopes_from_query(_query_scopes(scope))
        except InvalidInput as exc:
            await problem(400, str(exc), slug="invalid-scope")(scope, receive, send)
            return
        try:
            credential = read_credential(headers)
        except HTTPProblem:
            self.metrics.verified("auth", None)
            raise
        result = await self._verified(credential, required, client_ip(headers))
        self.metrics.verified("auth", result.code)
        if not result.valid:
            raise rejection(result, required)
        extra = [
            (b"x-keyhive-client-id", (result.client_id or "").encode("latin-1", "replace")),
            (b"x-keyhive-secret-id", (result.secret_id or "").encode()),
            (b"x-keyhive-scopes", " ".join(result.scopes).encode()),
        ]
        await _send_json(send, result.to_dict(), extra)

    async def _verify(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            response = problem(405, "use POST", slug="method-not-allowed")
            response.headers["Allow"] = "POST"
            await response(scope, receive, send)
            return
        caller = read_credential(_headers(scope))
        raw = await self._body(receive)
        hit = self.hive.verify_cached(caller, (VERIFY_SCOPE,))
        if hit is None or not grants(hit, VERIFY_SCOPE):
            await run_in_threadpool(check_caller, self.hive, caller, VERIFY_SCOPE)
        body, invalid = parse_verify_body(raw)
        if body is None:
            assert invalid is not None
            await invalid(scope, receive, send)
            return
        if isinstance(body, PairVerifyRequest):
            credential: Credential = PairCredential(body.client_id, body.secret)
        else:
            credential = TokenCredential(body.token)
        result = await self._verified(credential, body.scopes, body.ip)
        self.metrics.verified("verify", result.code)
        await _send_json(send, result.to_dict())

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
        key = name.decode("latin-1")
        if key in _WANTED and key not in found:
            found[key] = value.decode("latin-1")
    return found


def _query_scopes(scope: Scope) -> list[str]:
    query = scope.get("query_string", b"")
    if not query:
        return []
    return [
        v for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if k == "scope"
    ]


def parse_verify_body(raw: bytes) -> tuple[VerifyRequest | None, Response | None]:
    """The body as a token or a pair request, else the 400/422 problem to answer with.

    The presence of ``token`` picks the form, so errors name the fields of that form.
    """
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
