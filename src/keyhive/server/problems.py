"""RFC 9457 problem details: every error the service answers has this one shape.

Handlers here turn keyhive's exceptions, framework errors and validation errors into
``application/problem+json``; none of them echoes a request value, so a secret sent in
the wrong place never comes back in an error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from keyhive.core.errors import Conflict, InvalidInput, NotFound, StorageUnavailable

PROBLEM_JSON: Final = "application/problem+json"
_TYPE_PREFIX: Final = "urn:keyhive:problem:"
# At most 11 characters: every field name keyhive has fits, and no 12-character run of a
# token (the length a leak scan looks for) does.
_SAFE_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,10}")
_ID_FIELDS: Final = frozenset({"client_id", "secret_id"})
_log = logging.getLogger("keyhive.server")


class Problem(BaseModel):
    """The body of every error response (RFC 9457); extra members carry details."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


class HTTPProblem(Exception):
    """Raise to answer with a problem; ``slug`` names its ``urn:keyhive:problem:`` type."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.headers = dict(headers or {})
        self.extensions = extensions

    def response(self) -> ProblemResponse:
        return problem(
            self.status, self.detail, slug=self.slug, headers=self.headers, **self.extensions
        )


class BodyTooLarge(HTTPException):
    """Raised while a body is read, once it passes the limit (answered 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit} bytes")


def storage_unavailable(exc: StorageUnavailable) -> HTTPProblem:
    """503 with Retry-After: the database cannot answer now; a retry soon may succeed."""
    return HTTPProblem(503, str(exc), slug="storage-unavailable", headers={"Retry-After": "1"})


def problem(
    status: int,
    detail: str | None = None,
    *,
    slug: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> ProblemResponse:
    """A problem+json response; ``slug`` None means a plain HTTP error (``about:blank``)."""
    body = problem_body(status, detail, slug, extensions)
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def problem_body(
    status: int, detail: str | None, slug: str | None, extensions: Mapping[str, Any]
) -> dict[str, Any]:
    """The RFC 9457 members of a problem."""
    return {
        "type": _TYPE_PREFIX + slug if slug else "about:blank",
        "title": _title(status),
        "status": status,
        "detail": detail,
        **extensions,
    }


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def validation_problem(errors: Sequence[Any], *, drop_first: bool = False) -> ProblemResponse:
    """400 for a body that is not JSON, else 422 listing each error's location and message.

    Only ``loc``, ``msg`` and ``type`` are kept: pydantic's ``input`` could be a secret.
    """
    cleaned = [_clean(e, drop_first) for e in errors if isinstance(e, Mapping)]
    if any(e["type"] == "json_invalid" for e in cleaned):
        return problem(400, "the request body is not valid JSON", slug="invalid-json")
    fields = ", ".join(_where(e["loc"]) for e in cleaned[:5]) or "the request"
    return problem(422, f"invalid input at {fields}", slug="validation", errors=cleaned)


def _clean(error: Mapping[str, Any], drop_first: bool) -> dict[str, Any]:
    loc = [_part(part) for part in error.get("loc", ())]
    return {
        "loc": loc[1:] if drop_first and len(loc) > 1 else loc,
        "msg": str(error.get("msg", "invalid")),
        "type": str(error.get("type", "invalid")),
    }


def _part(part: object) -> int | str:
    """A location step; a long or odd key (an unknown field could be a token) is masked."""
    if isinstance(part, int):
        return part
    text = str(part)
    return text if _SAFE_KEY.fullmatch(text) else "<field>"


def _where(loc: Iterable[Any]) -> str:
    return ".".join(str(part) for part in loc) or "body"


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPProblem)
    return exc.response()


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return validation_problem(exc.errors())


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return problem(exc.status_code, str(exc.detail), headers=exc.headers)


async def _on_keyhive(request: Request, exc: Exception) -> Response:
    """Map the library's error tree: 404, 409, 422 and 503."""
    if isinstance(exc, NotFound):
        # The id is not echoed: a token pasted where an id belongs must not come back.
        return problem(404, f"{exc.kind} not found", slug="not-found")
    if isinstance(exc, InvalidInput) and exc.field in _ID_FIELDS:
        # An id that cannot exist (empty, too long) is simply not found.
        return problem(404, f"{exc.field.replace('_', ' ')} not found", slug="not-found")
    if isinstance(exc, InvalidInput):
        return problem(422, str(exc), slug="invalid-input", field=exc.field)
    if isinstance(exc, Conflict):
        return problem(409, str(exc), slug="conflict")
    if isinstance(exc, StorageUnavailable):
        return storage_unavailable(exc).response()
    return await _on_unexpected(request, exc)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    route = getattr(request.scope.get("route"), "path", "unmatched")
    _log.error("unexpected %s on %s %s", type(exc).__name__, request.method, route)
    return problem(500, "internal error", slug="internal")


def install(app: FastAPI) -> None:
    """Register the handlers, so no error leaves the app as anything but a problem."""
    app.add_exception_handler(HTTPProblem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(NotFound, _on_keyhive)
    app.add_exception_handler(InvalidInput, _on_keyhive)
    app.add_exception_handler(Conflict, _on_keyhive)
    app.add_exception_handler(StorageUnavailable, _on_keyhive)
    app.add_exception_handler(Exception, _on_unexpected)
