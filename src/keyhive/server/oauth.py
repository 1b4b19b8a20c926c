"""The OAuth 2.0 endpoints: token (client credentials), introspection, revocation, the
JWKS and the authorization server metadata.

Form bodies are read here, not by FastAPI: only ``application/x-www-form-urlencoded``,
at most 8 KiB, each parameter at most once (RFC 6749 §3.2). Errors are RFC 6749 §5.2
JSON with ``Cache-Control: no-store``; none echoes a request value.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from keyhive.core.credentials import BadCredential, PairCredential, from_headers
from keyhive.core.oauth import (
    OAuthError,
    TokenServiceUnavailable,
    invalid_client,
    invalid_request,
)
from keyhive.core.rfc6750 import REALM, retry_seconds
from keyhive.server.auth import SECURITY_NAMES, read_credential, rejection
from keyhive.server.oauth_schemas import (
    IntrospectionOut,
    JwksOut,
    MetadataOut,
    OAuthErrorOut,
    TokenForm,
    TokenOut,
    TokenParam,
)
from keyhive.server.openapi import errors
from keyhive.server.problems import HTTPProblem
from keyhive.service.hive import VERIFY_SCOPE, KeyHive
from keyhive.service.oauth import OAuthService

MAX_FORM: Final = 8 * 1024
_MAX_FIELDS: Final = 32
_FORM_TYPE: Final = "application/x-www-form-urlencoded"
NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_CHALLENGE: Final = f'Basic realm="{REALM}", charset="UTF-8"'
Form = dict[str, list[str]]
T = TypeVar("T")


async def read_form(request: Request, limit: int = MAX_FORM) -> Form:
    """The parameters of a form body; OAuthError ``invalid_request`` if it is not one."""
    media, _, params = request.headers.get("content-type", "").partition(";")
    if media.strip().lower() != _FORM_TYPE:
        raise invalid_request(f"the body must be {_FORM_TYPE}")
    charset = params.strip().lower().removeprefix("charset=").strip('"')
    if params.strip() and charset not in {"utf-8", "utf8"}:
        raise invalid_request("the body must be UTF-8")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise OAuthError(
                "invalid_request", f"the body is larger than {limit} bytes", status=413
            )
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=_MAX_FIELDS,
            encoding="utf-8",
            errors="strict",
        )
    except ValueError:  # not UTF-8, bad escapes, too many fields
        raise invalid_request("the body is not a readable form") from None
    form: Form = {}
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    return form


def one(form: Form, name: str) -> str | None:
    """A parameter that may appear once; an empty value counts as omitted (§3.2)."""
    values = [v for v in form.get(name, ()) if v != ""]
    if len(values) > 1 or len(form.get(name, ())) > 1:
        raise invalid_request(f"{name} is given more than once")
    return values[0] if values else None


def client_auth(headers: Mapping[str, str], form: Form) -> tuple[str | None, str | None]:
    """client_id and secret from HTTP Basic (client_secret_basic) or the body
    (client_secret_post); using both at once is an error (RFC 6749 §2.3)."""
    body_id, body_secret = one(form, "client_id"), one(form, "client_secret")
    authorization = headers.get("authorization")
    if not authorization:
        return body_id, body_secret
    try:
        credential = from_headers(authorization)
    except BadCredential:
        raise invalid_client("the Authorization header cannot be read") from None
    if not isinstance(credential, PairCredential):
        raise invalid_client("authenticate with HTTP Basic client_id:client_secret")
    if body_secret is not None:
        raise invalid_request("use one client authentication method, not two")
    if body_id is not None and body_id != credential.client_id:
        raise invalid_request("client_id differs from the one in the Basic credentials")
    return credential.client_id, credential.secret


def oauth_error(exc: OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = _CHALLENGE
    wait = retry_seconds(exc.retry_after)
    if wait:
        headers["Retry-After"] = str(wait)
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)


def unavailable(exc: TokenServiceUnavailable) -> HTTPProblem:
    return HTTPProblem(503, str(exc), slug="oauth-unavailable", headers=NO_STORE)


def peer_ip(request: Request) -> str | None:
    """The connecting address, for the secret's IP allowlist."""
    host = request.client.host if request.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


def _form_body(model: type[TokenForm] | type[TokenParam], required: list[str]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema["required"] = required
    return {
        "requestBody": {"required": True, "content": {_FORM_TYPE: {"schema": schema}}},
    }


def _oauth_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    body = {"application/json": {"schema": OAuthErrorOut.model_json_schema()}}
    described = {
        400: "RFC 6749 §5.2 error (invalid_request, invalid_scope, invalid_target, ...)",
        401: "invalid_client: client authentication failed",
        413: "The body is larger than 8 KiB",
        429: "The secret's rate limit or credits ran out; see Retry-After",
    }
    return {code: {"description": described[code], "content": body} for code in codes}


def oauth_router(hive: KeyHive) -> APIRouter:
    """The routes; the hive's OAuthService (and its change watcher) starts on first use
    and stops when the hive closes."""
    hive.settings.oauth()  # a bad KEYHIVE_OAUTH_* setting fails at startup, not per request
    router = APIRouter(tags=["oauth"])

    async def run(call: Callable[[OAuthService], T]) -> T:
        """``call(service)`` in the thread pool: it may read or write the database."""
        return await run_in_threadpool(lambda: call(OAuthService.for_hive(hive)))

    @router.post(
        "/oauth/token",
        summary="Get an access token (client credentials grant)",
        description=(
            "RFC 6749 §4.4. Authenticate with HTTP Basic `client_id:client_secret` or with "
            "`client_id` and `client_secret` in the body; the secret is any keyhive secret "
            "of that client. The token is a JWT (RFC 9068) for the `resource` given, or "
            "the configured audience, with the requested scopes (default: all the "
            "secret's, keyhive's own excepted)."
        ),
        response_model=TokenOut,
        openapi_extra={
            **_form_body(TokenForm, ["grant_type"]),
            "security": [{"basicAuth": []}, {}],
        },
        responses={
            **_oauth_errors(400, 401, 413, 429),
            **errors(503),
        },
    )
    async def token(request: Request) -> Response:
        try:
            form = await read_form(request)
            client_id, secret = client_auth(request.headers, form)
            resources = [v for v in form.get("resource", ()) if v]
            grant_type, scope, ip = one(form, "grant_type"), one(form, "scope"), peer_ip(request)
            issued = await run(
                lambda oauth: oauth.token(
                    grant_type=grant_type,
                    client_id=client_id,
                    client_secret=secret,
                    scope=scope,
                    resources=resources,
                    ip=ip,
                    base_url=str(request.base_url),
                )
            )
        except OAuthError as exc:
            return oauth_error(exc)
        except TokenServiceUnavailable as exc:
            raise unavailable(exc) from None
        return JSONResponse(issued.to_dict(), headers=NO_STORE)

    @router.post(
        "/oauth/introspect",
        summary="Is this access token active? (RFC 7662)",
        description=(
            "The caller authenticates with a keyhive secret holding `keyhive:verify`. "
            'Answers `{"active": false}` for any token that is not ours, expired, '
            "revoked, or whose secret was revoked or expired or whose client was "
            "disabled, on any node, at once."
        ),
        response_model=IntrospectionOut,
        response_model_exclude_none=True,
        openapi_extra={
            **_form_body(TokenParam, ["token"]),
            "security": [{name: []} for name in SECURITY_NAMES],
        },
        responses={**_oauth_errors(400, 413), **errors(401, 403, 429, 503)},
    )
    async def introspect(request: Request) -> Response:
        credential = read_credential(request.headers)
        caller = await run_in_threadpool(hive.verify_credential, credential, [VERIFY_SCOPE])
        if not caller.valid:
            raise rejection(caller, [VERIFY_SCOPE])
        try:
            form = await read_form(request)
            text = one(form, "token")
            if text is None:
                raise invalid_request("token is required")
        except OAuthError as exc:
            return oauth_error(exc)
        answer = await run(lambda oauth: oauth.introspect(text))
        return JSONResponse(answer, headers=NO_STORE)

    @router.post(
        "/oauth/revoke",
        summary="Revoke an access token (RFC 7009)",
        description=(
            "Authenticated as the client the token was issued to (HTTP Basic or "
            "client_secret_post). Answers 200 for any token, even one that is unknown "
            "or expired; every node refuses a revoked token within a second."
        ),
        openapi_extra={
            **_form_body(TokenParam, ["token"]),
            "security": [{"basicAuth": []}, {}],
        },
        responses={
            200: {"description": "Revoked, or nothing to revoke", "content": {}},
            **_oauth_errors(400, 401, 413, 429),
            **errors(503),
        },
    )
    async def revoke(request: Request) -> Response:
        try:
            form = await read_form(request)
            client_id, secret = client_auth(request.headers, form)
            text = one(form, "token")
            if text is None:
                raise invalid_request("token is required")
            ip = peer_ip(request)

            def authenticated_revoke(oauth: OAuthService) -> None:
                result = oauth.authenticate(client_id, secret, ip=ip)
                assert result.client_id is not None
                oauth.revoke(text, client_id=result.client_id, actor=result.secret_id)

            await run(authenticated_revoke)
        except OAuthError as exc:
            return oauth_error(exc)
        return Response(status_code=200, headers=NO_STORE)

    @router.get(
        "/.well-known/jwks.json",
        summary="The keys that sign access tokens (RFC 7517)",
        response_model=JwksOut,
        responses=errors(503),
    )
    async def jwks() -> Response:
        document = await run(lambda oauth: oauth.jwks())
        return JSONResponse(document, headers={"Cache-Control": "no-cache"})

    @router.get(
        "/.well-known/oauth-authorization-server",
        summary="Authorization server metadata (RFC 8414)",
        response_model=MetadataOut,
        responses=errors(503),
    )
    async def metadata(request: Request) -> Response:
        try:
            base = str(request.base_url)
            document = await run(lambda oauth: oauth.metadata(base))
        except TokenServiceUnavailable as exc:
            raise unavailable(exc) from None
        return JSONResponse(document, headers={"Cache-Control": "max-age=300"})

    return router
