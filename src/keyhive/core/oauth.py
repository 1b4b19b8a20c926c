"""OAuth 2.0 vocabulary, framework-free: the error tree of RFC 6749 §5.2, the ``scope``
and ``resource`` parameters, signing algorithms, and telling a JWT from a keyhive token.

The token endpoint, introspection and revocation (service layer) raise
:class:`OAuthError`; the HTTP face turns it into the JSON error body the RFCs define.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final
from urllib.parse import urlsplit

from keyhive.core.errors import ConfigurationError, InvalidScope, KeyhiveError
from keyhive.core.scopes import normalize_scopes

#: Signing algorithms keyhive signs with. ``Ed25519`` is EdDSA over Ed25519 under its
#: RFC 9864 name; ``EdDSA`` is the same signature under the older, polymorphic name,
#: for resource servers whose JOSE library knows only that one.
ALGORITHMS: Final = ("Ed25519", "EdDSA", "ES256", "RS256")
DEFAULT_ALGORITHM: Final = "Ed25519"
#: The JWT ``typ`` of RFC 9068 access tokens (``application/at+jwt`` is the long form).
ACCESS_TOKEN_TYP: Final = "at+jwt"
#: Private claim naming the keyhive secret a token was issued for.
SECRET_ID_CLAIM: Final = "kh_sid"
#: keyhive's own scopes are never put into an access token: the service's API takes
#: keyhive secrets only, and a token must not become an admin credential elsewhere.
RESERVED_SCOPE_PREFIX: Final = "keyhive:"
#: A JWT is far larger than a keyhive token but has a bound: refuse anything longer.
MAX_JWT_LENGTH: Final = 8192
MAX_PARAMETER: Final = 2048
_JWT_SHAPE: Final = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class OAuthError(KeyhiveError):
    """An OAuth error response: ``error`` is the RFC code, ``status`` the HTTP status.

    ``description`` is for people and never holds a request value. ``retry_after``
    (seconds) is set when waiting helps (rate limits).
    """

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 400,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


def invalid_client(description: str = "client authentication failed") -> OAuthError:
    """401, always: RFC 6749 §5.2 allows it and RFC 9110 then asks for a challenge."""
    return OAuthError("invalid_client", description, status=401)


class TokenServiceUnavailable(KeyhiveError):
    """Tokens cannot be issued now (no durable server key, no usable signing key)."""


def looks_like_jwt(text: object) -> bool:
    """Whether ``text`` has the shape of a compact JWS: three base64url parts.

    Cheap enough for every request; keyhive tokens never contain a dot and article
    secrets contain one, so a credential is sorted without parsing it.
    """
    return (
        isinstance(text, str)
        and text.count(".") == 2
        and len(text) <= MAX_JWT_LENGTH
        and text.startswith("eyJ")
        and _JWT_SHAPE.fullmatch(text) is not None
    )


def parse_scope(value: str | None) -> tuple[str, ...] | None:
    """The ``scope`` parameter (space-separated, RFC 6749 §3.3); None when omitted or empty.

    Raises OAuthError ``invalid_scope`` for a scope keyhive cannot grant.
    """
    if value is None or not value.strip(" "):
        return None
    if len(value) > MAX_PARAMETER or not value.isprintable():
        raise OAuthError("invalid_scope", "the scope parameter is not a list of scopes")
    try:
        scopes = normalize_scopes(part for part in value.split(" ") if part)
    except InvalidScope as exc:
        raise OAuthError("invalid_scope", str(exc)) from None
    if any(reserved(s) for s in scopes):
        raise OAuthError("invalid_scope", "keyhive's own scopes are not granted in access tokens")
    return scopes


def reserved(scope: str) -> bool:
    """Whether a scope is one of keyhive's own (``keyhive:...``)."""
    return scope.startswith(RESERVED_SCOPE_PREFIX)


def grantable(scopes: Iterable[str]) -> tuple[str, ...]:
    """The scopes of a secret that an access token may carry (keyhive's own left out)."""
    return tuple(s for s in scopes if not reserved(s))


def absolute_uri(value: object, what: str = "resource") -> str:
    """``value`` if it is an absolute http(s) URI without a fragment (RFC 8707 §2).

    Raises OAuthError ``invalid_target``.
    """
    problem = OAuthError("invalid_target", f"{what} must be an absolute URI without a fragment")
    if not isinstance(value, str) or not value or len(value) > MAX_PARAMETER:
        raise problem
    if not value.isprintable() or any(c.isspace() for c in value):
        raise problem
    try:
        parts = urlsplit(value)
    except ValueError:
        raise problem from None
    if not parts.scheme or not parts.netloc or "#" in value:
        raise problem
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme):
        raise problem
    return value


@dataclass(frozen=True, slots=True)
class OAuthConfig:
    """The authorization server's settings, checked once (see :class:`~keyhive.Settings`).

    ``issuer`` None means: the base URL each request arrived at (set it in production,
    so a forged Host header cannot change the ``iss`` of tokens).
    """

    issuer: str | None = None
    audience: str | None = None
    lifetime: timedelta = timedelta(minutes=15)
    algorithm: str = DEFAULT_ALGORITHM
    rotation: timedelta = timedelta(days=30)
    #: Tolerance for clocks that differ between nodes and resource servers.
    skew: timedelta = timedelta(minutes=2)

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ConfigurationError(f"KEYHIVE_OAUTH_ALG must be one of {', '.join(ALGORITHMS)}")
        if not timedelta(seconds=30) <= self.lifetime <= timedelta(days=1):
            raise ConfigurationError("KEYHIVE_OAUTH_TOKEN_LIFETIME must be from 30s to 1d")
        if self.rotation < timedelta(hours=1):
            raise ConfigurationError("KEYHIVE_OAUTH_KEY_ROTATION must be at least 1h")
        for name, value in (("ISSUER", self.issuer), ("AUDIENCE", self.audience)):
            if value is not None:
                try:
                    absolute_uri(value, name.lower())
                except OAuthError:
                    raise ConfigurationError(
                        f"KEYHIVE_OAUTH_{name} must be an absolute URI without a fragment"
                    ) from None

    @property
    def retire_after(self) -> timedelta:
        """How long a replaced key stays published: its last token's life plus skew."""
        return self.lifetime + self.skew
