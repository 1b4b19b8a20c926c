"""Reading a credential from request headers, shared by the server and every integration.

Accepted (PRODUCT.md): ``Authorization: Bearer <token>``, ``X-API-Key: <token>`` and
``Authorization: Basic base64(client_id:secret)`` (RFC 6749 §2.3.1, where both parts are
form-urlencoded before base64). Keys imported from djangorestframework-api-key are also
read as that library sends them: ``Authorization: Api-Key <key>``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote_plus

from keyhive.core.errors import InvalidInput

_MAX_HEADER: Final = 4096


@dataclass(frozen=True, slots=True)
class TokenCredential:
    """A secret token presented alone (Bearer or X-API-Key)."""

    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class PairCredential:
    """A client_id and secret presented together (HTTP Basic)."""

    client_id: str
    secret: str = field(repr=False)


Credential = TokenCredential | PairCredential


class BadCredential(InvalidInput):
    """A credential header is present but cannot be read (answered 401 invalid_request)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="authorization")


def from_headers(authorization: str | None, api_key: str | None = None) -> Credential | None:
    """The credential in these header values; None when there is none at all.

    Raises BadCredential for a header that is present but malformed; never echoes it.
    """
    if authorization:
        if not isinstance(authorization, str):
            raise BadCredential("Authorization header must be text")
        return _from_authorization(authorization)
    if api_key:
        if not isinstance(api_key, str):
            raise BadCredential("X-API-Key header must be text")
        if len(api_key) > _MAX_HEADER:
            raise BadCredential("X-API-Key header is too long")
        if not api_key.strip():
            raise BadCredential("X-API-Key header is empty")
        return TokenCredential(api_key.strip())
    return None


def bearer_token(value: str) -> str | None:
    """The token of an ``Authorization: Bearer`` (or ``Api-Key``) value that
    :func:`from_headers` would read as one; None for anything else (let it decide).

    The integrations' hot path: one split and one comparison, no credential object.
    """
    scheme, _, rest = value.partition(" ")
    if scheme not in _TOKEN_SCHEMES or len(value) > _MAX_HEADER:
        return None
    token = rest.strip()
    return token or None


#: The spellings of the token schemes :func:`bearer_token` answers without lowering.
_TOKEN_SCHEMES: Final = frozenset({"Bearer", "bearer", "Api-Key", "api-key", "BEARER"})


def _from_authorization(value: str) -> Credential:
    if len(value) > _MAX_HEADER:
        raise BadCredential("Authorization header is too long")
    scheme, _, rest = value.strip().partition(" ")
    rest = rest.strip()
    if not rest:
        raise BadCredential("Authorization header has no credentials")
    match scheme.lower():
        case "bearer" | "api-key":
            return TokenCredential(rest)
        case "basic":
            return _basic(rest)
        case _:
            raise BadCredential(
                "Authorization scheme must be Bearer or Basic (or Api-Key, for imported keys)"
            )


def _basic(encoded: str) -> PairCredential:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise BadCredential("Basic credentials are not valid base64 of UTF-8 text") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id or not secret:
        raise BadCredential("Basic credentials must be client_id:secret")
    # RFC 6749 §2.3.1 form-encodes both parts; a raw base64 value has no '%' and keeps
    # its '+' only if we do not decode it, so decode each part only if it is clearly
    # encoded (a raw base64 client_id beside an encoded secret keeps its '+').
    return PairCredential(_form_decoded(client_id), _form_decoded(secret))


def _form_decoded(part: str) -> str:
    return unquote_plus(part) if "%" in part else part
