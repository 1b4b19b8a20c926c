"""``POST /v1/leaks``: leak reports from GitHub's secret scanning partner program.

GitHub posts a JSON array of matches ``{"token", "type", "url", "source"}`` signed with
ECDSA P-256 (:mod:`keyhive.server.leak_signatures`). The signature is checked over the
raw body before anything in it is parsed. Every active keyhive token in the report is
then revoked, all in one transaction through :meth:`KeyHive.revoke_leaked`, with the
URL where it was found as the reason.

The answer is GitHub's feedback format, one entry per match: ``token_hash`` (SHA-256
hex of the token, which GitHub accepts in place of ``token_raw``), ``token_type`` and
``label`` (``true_positive`` for a real keyhive credential, active or not, else
``false_positive``). keyhive answers no request with a token in it, so it never sends
``token_raw``, not even back to the party that sent the token.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StrictStr, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from keyhive.core.leaks import Leak, LeakCheck
from keyhive.server.leak_signatures import KeysUnavailable, LeakKeys
from keyhive.server.openapi import errors
from keyhive.server.problems import HTTPProblem
from keyhive.service.hive import KeyHive

PATH: Final = "/v1/leaks"
#: Reports may hold many matches (GitHub asks partners to cope with large ones).
MAX_BODY: Final = 4 * 1024 * 1024
MAX_MATCHES: Final = 10_000
ACTOR: Final = "github secret scanning"
_log = logging.getLogger("keyhive.server")


class LeakMatch(BaseModel):
    """One match in a report. Unknown members are ignored: GitHub may add some."""

    model_config = ConfigDict(extra="ignore")

    token: StrictStr = Field(description="the string that matched (a secret: never echoed)")
    type: StrictStr = Field("", description="the secret type registered with GitHub")
    url: StrictStr = Field("", description="where it was found (may be empty)")
    source: StrictStr = Field("", description="content, commit, issue_comment, npm, ...")


class LeakFeedback(BaseModel):
    """GitHub's feedback format, with the token hashed."""

    token_hash: str = Field(description="SHA-256 of the token, lowercase hex")
    token_type: str
    label: Literal["true_positive", "false_positive"]


_REPORT: Final[TypeAdapter[list[LeakMatch]]] = TypeAdapter(list[LeakMatch])


def _responses() -> dict[int | str, dict[str, Any]]:
    documented = errors(400, 401, 413, 422, 503)
    for code in (401, 413):
        documented[code] = {**documented[code]}
        documented[code].pop("headers", None)
    documented[401]["description"] = "Signature missing, not valid, or by an unknown key"
    documented[413]["description"] = f"Request body over {MAX_BODY // (1024 * 1024)} MiB"
    documented[503]["description"] = "No leak keys file is configured or it cannot be read"
    return documented


def leaks_router(hive: KeyHive) -> APIRouter:
    router = APIRouter(tags=["leaks"])
    configured = hive.settings.leak_keys_file
    keys = LeakKeys(configured) if configured else None

    @router.post(
        PATH,
        response_model=list[LeakFeedback],
        responses=_responses(),
        summary="Receive a GitHub secret scanning report; revoke the active tokens in it",
        description=(
            "Signed by GitHub (ECDSA P-256, SHA-256, over the raw body), checked against "
            "the keys in `KEYHIVE_LEAK_KEYS_FILE`. Each active keyhive token reported is "
            "revoked before the answer, with the report's URL as reason. The answer "
            "labels each match in GitHub's feedback format, the token given as its "
            "SHA-256 (`token_hash`)."
        ),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "array",
                            "maxItems": MAX_MATCHES,
                            "items": LeakMatch.model_json_schema(),
                        }
                    }
                },
            },
            "security": [],
        },
    )
    async def receive(
        request: Request,
        key_id: Annotated[
            str | None,
            Header(alias="Github-Public-Key-Identifier", description="the signing key's id"),
        ] = None,
        signature: Annotated[
            str | None,
            Header(alias="Github-Public-Key-Signature", description="base64 DER ECDSA signature"),
        ] = None,
    ) -> list[dict[str, str]]:
        if keys is None:
            raise HTTPProblem(
                503, "leak reports are not configured: set KEYHIVE_LEAK_KEYS_FILE", slug="leaks-off"
            )
        if not key_id or not signature:
            raise _unsigned()
        body = await request.body()
        try:
            genuine = keys.verify(key_id, signature, body)
        except KeysUnavailable as exc:
            _log.error("leak report refused: %s", exc)
            raise HTTPProblem(503, str(exc), slug="leaks-off") from None
        if not genuine:
            raise _unsigned()
        matches = _parse(body)
        reports = [Leak(m.token, m.url.strip() or "leaked: reported by GitHub") for m in matches]
        checks = await run_in_threadpool(hive.revoke_leaked, reports, actor=ACTOR)
        revoked = len({c.secret_id for c in checks if c.revoked})
        _log.info("leak report: %d match(es), %d secret(s) revoked", len(matches), revoked)
        return [_feedback(m, c) for m, c in zip(matches, checks, strict=True)]

    return router


def _unsigned() -> HTTPProblem:
    return HTTPProblem(401, "the report's signature is missing or not valid", slug="bad-signature")


def _parse(body: bytes) -> list[LeakMatch]:
    """The matches of a signed report; a 400 or 422 problem if it is not a list of them."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise HTTPProblem(400, "the report is not valid JSON", slug="invalid-json") from None
    if isinstance(document, list) and len(document) > MAX_MATCHES:
        raise HTTPProblem(422, f"a report holds at most {MAX_MATCHES} matches", slug="validation")
    try:
        return _REPORT.validate_python(document)
    except ValidationError as exc:
        # Answered like any invalid body: a 422 naming each place, never the values there.
        raise RequestValidationError(exc.errors()) from None


def _feedback(match: LeakMatch, check: LeakCheck) -> dict[str, str]:
    return {
        "token_hash": hashlib.sha256(match.token.encode("utf-8", "surrogatepass")).hexdigest(),
        "token_type": match.type,
        "label": "true_positive" if check.genuine else "false_positive",
    }
