"""The OpenAPI document: FastAPI's, plus the problem schema and the two hot routes.

The hot routes are plain Starlette routes that FastAPI does not see, so their
operations are written here, from the same pydantic models that validate them.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from keyhive.server import hot
from keyhive.server.auth import SECURITY_NAMES
from keyhive.server.problems import PROBLEM_JSON, Problem
from keyhive.server.schemas import SCOPE_LIST_PATTERN, VERIFY_REQUEST, VerificationOut

_REF: Final = "#/components/schemas/{model}"
_ORDER: Final = ("get", "head", "post", "put", "patch", "delete", "options")
#: The methods /v1/auth answers (the hot path's list), in the document's usual order.
AUTH_METHODS: Final = tuple(m for m in _ORDER if m.upper() in hot.AUTH_METHODS)
_DESCRIPTIONS: Final = {
    400: "Malformed request (body not JSON, bad parameter)",
    401: "No credential, or one that is not valid",
    403: "The credential lacks a required scope",
    404: "No such client or secret",
    409: "The change contradicts the current state",
    413: "Request body over 64 KiB",
    422: "A field is missing or invalid",
    429: "Rate or usage limit reached; see Retry-After",
    503: "The database is unavailable",
}
_AUTH_HEADERS: Final = {
    "WWW-Authenticate": {"schema": {"type": "string"}, "description": "RFC 6750 challenge"}
}
_RATELIMIT_HEADERS: Final = {
    name: {
        "schema": {"type": "string"},
        "description": f"{what}; one member per named limit of the secret and its owner "
        "(only when it has rate limits)",
    }
    for name, what in (
        ("RateLimit-Policy", 'the limits, e.g. "burst";q=20;w=1, "owner.day";q=50000;w=86400'),
        ("RateLimit", 'what is left of each, e.g. "burst";r=19;t=1'),
    )
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for these statuses, each a problem+json body."""
    result: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {
            "description": _DESCRIPTIONS[code],
            "content": {PROBLEM_JSON: {"schema": {"$ref": _REF.format(model="Problem")}}},
        }
        if code in (401, 403):
            entry["headers"] = _AUTH_HEADERS
        if code in (429, 503):
            entry["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        result[code] = entry
    return result


def _security() -> list[dict[str, list[str]]]:
    return [{name: []} for name in SECURITY_NAMES]


def _schema(model: type[BaseModel], mode: str, components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF, mode=mode)  # type: ignore[arg-type]
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return {"$ref": _REF.format(model=model.__name__)}


def _hot_paths(components: dict[str, Any]) -> dict[str, Any]:
    request = VERIFY_REQUEST.json_schema(ref_template=_REF)
    components.update(request.pop("$defs", {}))
    verification = _schema(VerificationOut, "serialization", components)
    cost_param = {
        "name": "cost",
        "in": "query",
        "required": False,
        "description": "What the request spends from rate limits and credits (default 1).",
        "schema": components["TokenVerifyRequest"]["properties"]["cost"],
    }
    scope_param = {
        "name": "scope",
        "in": "query",
        "required": False,
        "description": (
            "Required scopes (all must be granted): repeat the parameter, or list several "
            "in one value separated by spaces or commas. An empty value requires none. At "
            "most 64 distinct scopes in all (400 beyond)."
        ),
        "schema": {
            "type": "array",
            "items": {"type": "string", "pattern": SCOPE_LIST_PATTERN},
        },
        "style": "form",
        "explode": True,
    }
    auth_errors = errors(400, 401, 403, 413, 429, 503)
    auth_errors[429]["headers"] = {**auth_errors[429]["headers"], **_RATELIMIT_HEADERS}
    return {
        "/v1/verify": {
            "post": {
                "tags": ["verify"],
                "summary": "Verify a credential",
                "description": (
                    "Answers 200 for every well-formed request, valid or not: read `valid` "
                    "and `code`. The caller needs scope `keyhive:verify`."
                ),
                "operationId": "verify",
                "security": _security(),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": request}},
                },
                "responses": {
                    "200": {
                        "description": "The verdict",
                        "content": {"application/json": {"schema": verification}},
                    },
                    **{str(k): v for k, v in errors(400, 401, 403, 413, 422, 429, 503).items()},
                },
            }
        },
        "/v1/auth": _every_method(
            {
                "tags": ["verify"],
                "summary": "Gateway auth (nginx auth_request, Traefik ForwardAuth)",
                "description": (
                    "Checks the credential of the forwarded request (Authorization or "
                    "X-API-Key). Answers 200 with X-Keyhive-* headers, 401, 403 or 429. "
                    "Any method is accepted, since gateways forward the original one."
                ),
                "operationId": "auth",
                "security": _security(),
                "parameters": [
                    scope_param,
                    cost_param,
                    {"name": "X-Real-IP", "in": "header", "schema": {"type": "string"}},
                    {"name": "X-Forwarded-For", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {
                        "description": (
                            "The credential passes. The answer is in the headers; the body "
                            "is empty (a gateway reads headers only)."
                        ),
                        "headers": {
                            **{
                                name: {"schema": {"type": "string"}}
                                for name in (
                                    "X-Keyhive-Code",
                                    "X-Keyhive-Client-Id",
                                    "X-Keyhive-Secret-Id",
                                    "X-Keyhive-Scopes",
                                )
                            },
                            **_RATELIMIT_HEADERS,
                        },
                    },
                    **{str(k): v for k, v in auth_errors.items()},
                },
            }
        ),
    }


def _every_method(operation: dict[str, Any]) -> dict[str, Any]:
    """/v1/auth under each method a gateway may forward (the same operation each time)."""
    return {
        method: {**operation, "operationId": "auth" if method == "get" else f"auth_{method}"}
        for method in AUTH_METHODS
    }


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` with one that adds the problem schema and the hot routes."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            components = document.setdefault("components", {}).setdefault("schemas", {})
            _schema(Problem, "serialization", components)
            document["paths"] = {**_hot_paths(components), **document.get("paths", {})}
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]
