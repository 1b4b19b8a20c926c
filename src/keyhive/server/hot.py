"""The hot routes: POST /v1/verify and GET /v1/auth.

Plain Starlette routes, without FastAPI's dependency machinery, because every request
of a protected API passes through one of them. The facade is synchronous and a cache
miss runs scrypt, so each request makes one hop to the thread pool, never two.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from typing import Any, Final

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

from keyhive.credentials import Credential
from keyhive.errors import InvalidInput
from keyhive.hive import VERIFY_SCOPE, KeyHive
from keyhive.model import Verification
from keyhive.scopes import normalize_scopes
from keyhive.server.auth import check_caller, read_credential, rejection
from keyhive.server.metrics import Metrics
from keyhive.server.problems import HTTPProblem, problem, validation_problem
from keyhive.server.schemas import PairVerifyRequest, TokenVerifyRequest, VerifyRequest

_ALL_METHODS: Final = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class NamedRoute(Route):
    """A Route that records itself in the scope, as FastAPI's routes do, for metrics."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE:
            child["route"] = self
        return match, child


def _json(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        headers=headers,
        media_type="application/json",
    )


def _verify_body(
    hive: KeyHive, caller: Credential, body: VerifyRequest | None
) -> Verification | None:
    """Check the caller, then the body's credential; None when the body was invalid."""
    check_caller(hive, caller, VERIFY_SCOPE)
    if body is None:
        return None
    if isinstance(body, PairVerifyRequest):
        return hive.verify_pair(body.client_id, body.secret, body.scopes, ip=body.ip)
    return hive.verify(body.token, body.scopes, ip=body.ip)


def _scopes_from_query(values: Sequence[str]) -> tuple[str, ...]:
    """``?scope=`` repeated, each value possibly holding several scopes (space or comma)."""
    return normalize_scopes(part for value in values for part in value.replace(",", " ").split())


def client_ip(headers: Headers) -> str | None:
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


def hot_routes(hive: KeyHive, metrics: Metrics) -> list[Route]:
    """The two hot routes, bound to ``hive``."""

    async def verify(request: Request) -> Response:
        caller = read_credential(request.headers)
        body, invalid = parse_verify_body(await request.body())
        result = await run_in_threadpool(_verify_body, hive, caller, body)
        if result is None:
            assert invalid is not None
            return invalid
        metrics.verified("verify", result.code)
        return _json(result.to_dict())

    async def auth(request: Request) -> Response:
        try:
            required = _scopes_from_query(request.query_params.getlist("scope"))
        except InvalidInput as exc:
            return problem(400, str(exc), slug="invalid-scope")
        try:
            credential = read_credential(request.headers)
        except HTTPProblem as exc:
            metrics.verified("auth", None)
            return exc.response()
        ip = client_ip(request.headers)
        result = await run_in_threadpool(hive.verify_credential, credential, required, ip=ip)
        metrics.verified("auth", result.code)
        if not result.valid:
            return rejection(result, required).response()
        headers = {
            "X-Keyhive-Client-Id": result.client_id or "",
            "X-Keyhive-Secret-Id": result.secret_id or "",
            "X-Keyhive-Scopes": " ".join(result.scopes),
            "Cache-Control": "no-store",
        }
        return _json(result.to_dict(), headers=headers)

    return [
        NamedRoute("/v1/verify", verify, methods=["POST"], include_in_schema=False),
        # Gateways forward the original method (nginx auth_request does), so take them all.
        NamedRoute("/v1/auth", auth, methods=_ALL_METHODS, include_in_schema=False),
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
