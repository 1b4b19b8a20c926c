"""The claims of a keyhive access token (RFC 9068) and the rules every checker applies.

:func:`read` turns verified claims into an :class:`AccessToken` (or refuses them);
:func:`judge` decides a token against the current state of its secret and client, the
same way for introspection and for a resource server with a local KeyHive.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from keyhive.core.model import Client, Code, Secret
from keyhive.core.oauth import SECRET_ID_CLAIM
from keyhive.core.scopes import allows

_REQUIRED = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")
_MAX_CLAIM = 2048


class BadClaims(Exception):
    """The claims are missing, mistyped or outside their time window."""


@dataclass(frozen=True, slots=True)
class AccessToken:
    """What a verified access token says: who it was issued to, for what, until when."""

    issuer: str
    subject: str
    client_id: str
    audience: tuple[str, ...]
    scopes: tuple[str, ...]
    jti: str
    issued_at: datetime
    expires_at: datetime
    not_before: datetime | None = None
    #: The keyhive secret it was issued for (claim ``kh_sid``), if the issuer is keyhive.
    secret_id: str | None = None

    def to_introspection(self, scopes: Sequence[str]) -> dict[str, Any]:
        """RFC 7662 members of an active token, with the scopes still in force."""
        body: dict[str, Any] = {
            "active": True,
            "scope": " ".join(scopes),
            "client_id": self.client_id,
            "sub": self.subject,
            "aud": list(self.audience) if len(self.audience) != 1 else self.audience[0],
            "iss": self.issuer,
            "exp": _epoch(self.expires_at),
            "iat": _epoch(self.issued_at),
            "jti": self.jti,
            "token_type": "Bearer",
        }
        if self.not_before is not None:
            body["nbf"] = _epoch(self.not_before)
        if self.secret_id is not None:
            body[SECRET_ID_CLAIM] = self.secret_id
        return body


def new_jti() -> str:
    """128 random bits, base64url: unique without coordination between nodes."""
    return secrets.token_urlsafe(16)


def build(
    *,
    issuer: str,
    audience: str,
    client_id: str,
    secret_id: str,
    scopes: Sequence[str],
    now: datetime,
    expires_at: datetime,
    jti: str,
) -> dict[str, Any]:
    """The claims of a new token (RFC 9068 §2.2 plus ``kh_sid``)."""
    return {
        "iss": issuer,
        "sub": client_id,
        "client_id": client_id,
        "aud": audience,
        "iat": _epoch(now),
        "exp": _epoch(expires_at),
        "jti": jti,
        "scope": " ".join(scopes),
        SECRET_ID_CLAIM: secret_id,
    }


def read(
    claims: Mapping[str, Any],
    *,
    now: datetime,
    leeway: timedelta,
    issuer: str | None,
    audiences: frozenset[str] | None,
) -> AccessToken:
    """The token these claims describe, if they are complete and in force now.

    ``issuer`` and ``audiences`` None skip those checks (introspection: the signature
    already says the token is ours). Raises BadClaims, or :class:`Expired` for a token
    whose time has passed.
    """
    for name in _REQUIRED:
        if name not in claims:
            raise BadClaims
    iss, sub, client_id, jti = (_text(claims[n]) for n in ("iss", "sub", "client_id", "jti"))
    aud = claims["aud"]
    audience = (aud,) if isinstance(aud, str) else aud
    if not isinstance(audience, list | tuple) or not audience:
        raise BadClaims
    audience = tuple(_text(a) for a in audience)
    scope = claims.get("scope", "")
    if not isinstance(scope, str) or len(scope) > _MAX_CLAIM:
        raise BadClaims
    sid = claims.get(SECRET_ID_CLAIM)
    if sid is not None:
        sid = _text(sid)
    token = AccessToken(
        issuer=iss,
        subject=sub,
        client_id=client_id,
        audience=audience,
        scopes=tuple(s for s in scope.split(" ") if s),
        jti=jti,
        issued_at=_time(claims["iat"]),
        expires_at=_time(claims["exp"]),
        not_before=_time(claims["nbf"]) if "nbf" in claims else None,
        secret_id=sid,
    )
    if issuer is not None and token.issuer != issuer:
        raise BadClaims
    if audiences is not None and audiences.isdisjoint(token.audience):
        raise BadClaims
    if token.issued_at > now + leeway:
        raise BadClaims
    if token.not_before is not None and token.not_before > now + leeway:
        raise BadClaims
    if token.expires_at <= now - leeway:
        raise Expired
    return token


class Expired(BadClaims):
    """A genuine token whose ``exp`` has passed."""


def judge(
    token: AccessToken, secret: Secret | None, client: Client | None, now: datetime
) -> tuple[Code, tuple[str, ...]]:
    """A signed, unexpired token against its secret and client as they stand now.

    Revoking the secret, its expiry or disabling the client ends its tokens at once; a
    secret whose scopes were narrowed keeps only the token scopes it still grants.
    Returns the code and the scopes in force.
    """
    if secret is None or client is None or secret.client_id != token.client_id:
        return Code.NOT_FOUND, ()
    if secret.is_revoked(now):
        return Code.REVOKED, ()
    if secret.is_expired(now):
        return Code.EXPIRED, ()
    if not client.enabled:
        return Code.DISABLED, ()
    return Code.VALID, tuple(s for s in token.scopes if allows(secret.scopes, (s,)))


def _text(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_CLAIM:
        raise BadClaims
    return value


def _time(value: object) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadClaims
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise BadClaims from None


def _epoch(when: datetime) -> int:
    return int(when.timestamp())
