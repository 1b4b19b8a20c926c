"""The JOSE operations keyhive needs, on joserfc: make a key, sign a token, check one.

Each algorithm is tied to one key type (``Ed25519``/``EdDSA`` to OKP Ed25519, ``ES256``
to EC P-256, ``RS256`` to RSA), and a key is used only with the algorithm it is
published with, so a token cannot pick the algorithm its key is checked with.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import Any, Final

from joserfc import jws, jwt
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey, import_key, thumbprint

from keyhive.core.oauth import MAX_JWT_LENGTH

#: RFC 9864 deprecates the polymorphic "EdDSA" name; keyhive offers it only for
#: verifiers that know no other, so joserfc's warning about it says nothing new.
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)

_RSA_BITS: Final = 2048
_KEY_TYPES: Final = {
    "Ed25519": ("OKP", "Ed25519"),
    "EdDSA": ("OKP", "Ed25519"),
    "ES256": ("EC", "P-256"),
    "RS256": ("RSA", None),
}


class BadToken(Exception):
    """The compact JWS cannot be read or its signature does not verify (never says why
    in a way that helps a forger: callers answer NOT_FOUND)."""


def generate(alg: str) -> Key:
    """A new private key for ``alg``."""
    kty, _crv = _KEY_TYPES[alg]
    if kty == "OKP":
        return OKPKey.generate_key("Ed25519", private=True)
    if kty == "EC":
        return ECKey.generate_key("P-256", private=True)
    return RSAKey.generate_key(_RSA_BITS, private=True)


def kid_of(key: Key) -> str:
    """The RFC 7638 thumbprint of the public key: unique, and stable across copies."""
    return thumbprint(key.as_dict(private=False))


def public_jwk(key: Key, kid: str, alg: str) -> dict[str, Any]:
    """The JWKS entry of a key: public members only, with kid, alg and use."""
    entry = {k: v for k, v in key.as_dict(private=False).items() if k not in {"kid", "d"}}
    return {**entry, "kid": kid, "alg": alg, "use": "sig"}


def private_bytes(key: Key) -> bytes:
    """The private JWK as JSON (to be sealed, never stored as is)."""
    return json.dumps(key.as_dict(private=True), separators=(",", ":")).encode()


def load_private(data: bytes) -> Key:
    return import_key(json.loads(data))


def load_public(entry: Mapping[str, Any]) -> tuple[str, str, Key] | None:
    """``(kid, alg, key)`` of a JWKS entry fit for checking signatures; None otherwise
    (unknown algorithm, a key type that does not match it, private members, no kid)."""
    kid, alg = entry.get("kid"), entry.get("alg")
    if not isinstance(kid, str) or not kid or alg not in _KEY_TYPES:
        return None
    if entry.get("use", "sig") != "sig" or "d" in entry:
        return None
    kty, crv = _KEY_TYPES[alg]
    if entry.get("kty") != kty or (crv is not None and entry.get("crv") != crv):
        return None
    try:
        key = import_key(dict(entry))
    except (JoseError, ValueError, TypeError):
        return None
    return kid, alg, key


def sign(claims: Mapping[str, Any], key: Key, kid: str, alg: str, typ: str) -> str:
    header = {"alg": alg, "typ": typ, "kid": kid}
    return jwt.encode(header, dict(claims), key, algorithms=[alg])


def header_of(token: str) -> Mapping[str, Any]:
    """The protected header of a compact JWS, unverified."""
    if len(token) > MAX_JWT_LENGTH:
        raise BadToken
    try:
        obj = jws.extract_compact(token.encode("ascii"))
    except (JoseError, ValueError, TypeError, UnicodeError):
        raise BadToken from None
    header = obj.protected
    if not isinstance(header, Mapping):
        raise BadToken
    return header


def verified_claims(token: str, alg: str, key: Key) -> Mapping[str, Any]:
    """The payload of a compact JWS whose signature checks out under ``key`` with ``alg``."""
    if alg not in _KEY_TYPES:
        raise BadToken
    try:
        obj = jws.deserialize_compact(token, key, algorithms=[alg])
        claims = json.loads(obj.payload)
    except Exception:  # a bad signature, or a key that does not fit the algorithm
        raise BadToken from None
    if not isinstance(claims, dict):
        raise BadToken
    return claims
