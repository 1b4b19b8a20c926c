"""Readers for the hash strings of keys that other libraries issued (imported keys).

They only read: after an imported key's first successful verification keyhive stores a
verification digest and re-hashes it with the current hasher, like any secret whose
string is not the current setting's.

- djangorestframework-api-key: ``sha512$$<128 hex>`` (its hasher since 2.0, SHA-512 of
  the whole key, unsalted) and, for keys made before, Django password hashers of the
  whole key: ``pbkdf2_sha256$<iterations>$<salt>$<b64>``, ``pbkdf2_sha1$…`` and
  ``argon2$argon2id$…`` (the latter with the argon2 extra).
- fastapi-keygate: ``<64 hex>``, the SHA-256 of the whole key, unsalted.

SHA-256 and SHA-512 of a random key are fine for keys with as much entropy as these;
each comparison is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Final

from keyhive.core.errors import UnknownHashFormat, VerifyMismatch
from keyhive.core.hashing._protocol import secret_bytes

_MAX_KEY: Final = 1024
_SHA512: Final = re.compile(r"sha512\$\$([0-9a-f]{128})")
_PBKDF2: Final = re.compile(
    r"(pbkdf2_sha256|pbkdf2_sha1)\$(\d{1,8})\$([^$]{1,128})\$([A-Za-z0-9+/=]{1,128})"
)
_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")
_DIGESTS: Final = {"pbkdf2_sha256": "sha256", "pbkdf2_sha1": "sha1"}
_MAX_ITERATIONS: Final = 10_000_000


def _key(secret: object) -> bytes:
    if not isinstance(secret, str) or len(secret) > _MAX_KEY:
        raise VerifyMismatch("secret does not match")
    return secret_bytes(secret)


def _same(actual: str | bytes, expected: str | bytes) -> None:
    a = actual.encode() if isinstance(actual, str) else actual
    b = expected.encode() if isinstance(expected, str) else expected
    if not hmac.compare_digest(a, b):
        raise VerifyMismatch("secret does not match")


class DjangoKeyHasher:
    """Reads djangorestframework-api-key's ``hashed_key`` strings (see the module doc)."""

    name = "drf-api-key"

    def hash(self, secret: str) -> str:
        """The library's own current form (keyhive never makes new ones of these)."""
        return "sha512$$" + hashlib.sha512(_key(secret)).hexdigest()

    def verify(self, stored: str, secret: str) -> None:
        key = _key(secret)
        match = _SHA512.fullmatch(stored)
        if match is not None:
            _same(hashlib.sha512(key).hexdigest(), match.group(1))
            return
        match = _PBKDF2.fullmatch(stored)
        if match is not None:
            algorithm, iterations, salt, expected = match.groups()
            rounds = int(iterations)
            if not 1 <= rounds <= _MAX_ITERATIONS:
                raise UnknownHashFormat("pbkdf2 iterations out of range")
            derived = hashlib.pbkdf2_hmac(_DIGESTS[algorithm], key, salt.encode(), rounds)
            _same(base64.b64encode(derived).decode("ascii"), expected)
            return
        if stored.startswith("argon2$argon2"):
            _argon2_verify(stored[len("argon2") :], key)
            return
        raise UnknownHashFormat("not a djangorestframework-api-key hash string")

    def identifies(self, stored: str) -> bool:
        return (
            _SHA512.fullmatch(stored) is not None
            or _PBKDF2.fullmatch(stored) is not None
            or (stored.startswith("argon2$argon2") and _argon2_available())
        )

    def needs_rehash(self, stored: str) -> bool:
        return True


class KeygateKeyHasher:
    """Reads fastapi-keygate's ``key_hash``: the SHA-256 of the key in lowercase hex."""

    name = "fastapi-keygate"

    def hash(self, secret: str) -> str:
        """The library's own form (keyhive never makes new ones of these)."""
        return hashlib.sha256(_key(secret)).hexdigest()

    def verify(self, stored: str, secret: str) -> None:
        if _SHA256_HEX.fullmatch(stored) is None:
            raise UnknownHashFormat("not a fastapi-keygate hash string")
        _same(hashlib.sha256(_key(secret)).hexdigest(), stored)

    def identifies(self, stored: str) -> bool:
        return _SHA256_HEX.fullmatch(stored) is not None

    def needs_rehash(self, stored: str) -> bool:
        return True


def _argon2_available() -> bool:
    try:
        import argon2  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the installed extras
        return False
    return True


def _argon2_verify(encoded: str, key: bytes) -> None:
    """Django's ``argon2`` hasher writes argon2-cffi's own string after its name."""
    try:
        import argon2
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise UnknownHashFormat("argon2 strings need the argon2 extra") from None
    try:
        argon2.PasswordHasher().verify(encoded, key)
    except argon2.exceptions.VerifyMismatchError:
        raise VerifyMismatch("secret does not match") from None
    except (argon2.exceptions.InvalidHashError, argon2.exceptions.VerificationError):
        raise UnknownHashFormat("not a valid argon2 string") from None
