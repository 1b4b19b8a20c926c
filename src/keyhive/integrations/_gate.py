"""The check every adapter runs: read the headers, verify, and either pass a principal or
answer with a denial. Adapters only translate requests and responses around it."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Sequence
from typing import Final

from keyhive.core.credentials import Credential, bearer_token
from keyhive.core.errors import StorageUnavailable
from keyhive.core.model import Code
from keyhive.core.scopes import normalize_scopes
from keyhive.integrations._principal import Principal, Verdict
from keyhive.integrations._rfc6750 import DEFAULT_REALM, Denial, deny, read, unavailable
from keyhive.integrations._verifier import (
    AsyncLocalVerifier,
    AsyncVerifier,
    LocalVerifier,
    Verifier,
    VerifierUnavailable,
)

log = logging.getLogger("keyhive.integrations")
_UNAVAILABLE: Final = (VerifierUnavailable, StorageUnavailable)


def required_scopes(scopes: Sequence[str]) -> tuple[str, ...]:
    """Validate a route's scopes when the route is declared, not on its first request."""
    return normalize_scopes(list(scopes))


def route_scopes(scopes: Sequence[str]) -> tuple[str, ...]:
    """:func:`required_scopes` at request time, memoised (a route asks for the same
    ones every time; FastAPI gathers them per request)."""
    return _route_scopes(tuple(scopes))


@functools.lru_cache(maxsize=256)
def _route_scopes(scopes: tuple[str, ...]) -> tuple[str, ...]:
    return required_scopes(scopes)


def check(
    verifier: Verifier,
    authorization: str | None,
    api_key: str | None,
    required: Sequence[str] = (),
    ip: str | None = None,
    realm: str = DEFAULT_REALM,
    optional: bool = False,
) -> Principal | Denial | None:
    """The principal, or the denial to answer with; None only when ``optional`` and no
    credential was sent at all. Every parameter may be passed by position."""
    if authorization and type(verifier) is LocalVerifier:
        # As in begin_check: a bearer token for this process's pipeline goes from the
        # header straight to the pipeline, without a credential object.
        token = bearer_token(authorization)
        if token is not None:
            try:
                verdict = verifier.verify_token(token, required, ip)
            except _UNAVAILABLE as exc:
                return _unavailable(exc)
            if isinstance(verdict, Principal):
                return verdict
            return outcome(verdict, required, realm)
    found = _presented(authorization, api_key, realm, optional)
    if found is None or isinstance(found, Denial):
        return found
    try:
        verdict = verifier.verify(found, required, ip=ip)
    except _UNAVAILABLE as exc:
        return _unavailable(exc)
    return outcome(verdict, required, realm)


def begin_check(
    verifier: AsyncVerifier,
    authorization: str | None,
    api_key: str | None,
    required: Sequence[str] = (),
    ip: str | None = None,
    realm: str = DEFAULT_REALM,
    optional: bool = False,
) -> Principal | Denial | Awaitable[Principal | Denial | None] | None:
    """:func:`check_async` without a coroutine when the answer needs no I/O: the answer
    now, else an awaitable of it. A repeat caller (nearly every request) costs no
    coroutine. ``required`` may be a route's scopes as declared: they are validated where
    they are used, once, and unusable ones raise InvalidInput as at declaration. Every
    parameter may be passed by position (cheaper than by keyword, on every request)."""
    if authorization and type(verifier) is AsyncLocalVerifier:
        # The path of nearly every request: a bearer token for this process's pipeline,
        # from the header straight to the pipeline's first lines.
        token = bearer_token(authorization)
        if token is not None:
            try:
                step = verifier.begin_token(token, required, ip)
            except _UNAVAILABLE as exc:
                return _unavailable(exc)
            if isinstance(step, Principal):
                return step
            if isinstance(step, Verdict):
                return outcome(step, required, realm)
            return _settle(step, required, realm)
    return _check_general(
        verifier, authorization, api_key, route_scopes(required), ip, realm, optional
    )


async def check_async(
    verifier: AsyncVerifier,
    authorization: str | None,
    api_key: str | None,
    required: Sequence[str] = (),
    *,
    ip: str | None = None,
    realm: str = DEFAULT_REALM,
    optional: bool = False,
) -> Principal | Denial | None:
    """:func:`check` for ASGI apps."""
    result = begin_check(
        verifier, authorization, api_key, required, ip=ip, realm=realm, optional=optional
    )
    if result is None or isinstance(result, Principal | Denial):
        return result
    return await result


async def _settle(
    step: Awaitable[Verdict], required: Sequence[str], realm: str
) -> Principal | Denial:
    """The answer once a pending check is done (in a worker, or a read here)."""
    try:
        verdict = await step
    except _UNAVAILABLE as exc:
        return _unavailable(exc)
    return outcome(verdict, required, realm)


async def _check_general(
    verifier: AsyncVerifier,
    authorization: str | None,
    api_key: str | None,
    required: tuple[str, ...],
    ip: str | None,
    realm: str,
    optional: bool,
) -> Principal | Denial | None:
    """Any credential for any async verifier (X-API-Key, Basic, a remote keyhive)."""
    found = _presented(authorization, api_key, realm, optional)
    if found is None or isinstance(found, Denial):
        return found
    try:
        if type(verifier) is AsyncLocalVerifier:
            step = verifier.begin(found, required, ip=ip)
            verdict = step if isinstance(step, Verdict) else await step
        else:
            verdict = await verifier.verify(found, required, ip=ip)
    except _UNAVAILABLE as exc:
        return _unavailable(exc)
    return outcome(verdict, required, realm)


def _presented(
    authorization: str | None, api_key: str | None, realm: str, optional: bool
) -> Credential | Denial | None:
    """The credential to verify, the denial for a missing or unreadable one, or None when
    none was sent and that is allowed."""
    found = read(authorization, api_key, realm)
    if isinstance(found, Denial) and optional and not (authorization or api_key):
        return None
    return found


def _unavailable(exc: Exception) -> Denial:
    """Fail closed when the database or a remote keyhive cannot answer."""
    log.warning("keyhive verification unavailable: %s", exc)
    return unavailable(getattr(exc, "retry_after", None))


def outcome(verdict: Verdict, required: Sequence[str], realm: str) -> Principal | Denial:
    """The principal of a passing verdict, else the denial (``required`` as declared)."""
    if verdict.code is Code.VALID and verdict.principal is not None:
        return verdict.principal  # the common answer, without asking the refusal table
    denial = deny(verdict, route_scopes(required), realm)
    if denial is not None:
        return denial
    if verdict.principal is None:  # a verifier that says VALID but names nobody
        return outcome(Verdict(Code.NOT_FOUND), required, realm)
    return verdict.principal


def scope_check(
    principal: Principal, required: Sequence[str], realm: str = DEFAULT_REALM
) -> Denial | None:
    """For an already verified principal: the 403 when it lacks ``required``."""
    if principal.allows(required):
        return None
    return deny(Verdict(Code.INSUFFICIENT_SCOPE, principal), required, realm)
