"""scrypt in two string formats: the article's ``<hex>.<salt>`` and the PHC ``$scrypt$``.

``hashlib.scrypt`` releases the GIL, so several checks run in parallel in a thread pool.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Final

from keyhive.core.errors import UnknownHashFormat, VerifyMismatch
from keyhive.core.hashing._protocol import secret_bytes


@dataclass(frozen=True, slots=True)
class ScryptParams:
    """A named scrypt cost: N = 2**ln, block size r, parallelism p, key and salt lengths."""

    ln: int
    r: int
    p: int
    key_length: int = 64
    salt_length: int = 16

    @property
    def n(self) -> int:
        return 1 << self.ln

    @property
    def maxmem(self) -> int:
        """Memory bound passed to OpenSSL: 128·r·N for the work array plus room to spare."""
        return 128 * self.r * (self.n + self.p + 2) + (1 << 20)


#: The article's (Node's scryptSync defaults): N=16384, r=8, p=1, 64-byte key.
SCRYPT_ARTICLE: Final = ScryptParams(ln=14, r=8, p=1, key_length=64, salt_length=8)
#: Default for new secrets: the same cost as the article, in the PHC string format.
SCRYPT_DEFAULT: Final = ScryptParams(ln=14, r=8, p=1, key_length=32, salt_length=16)
#: Cheapest cost: for tests only, never for real secrets.
SCRYPT_CHEAPEST: Final = ScryptParams(ln=4, r=1, p=1, key_length=32, salt_length=16)

_MAX_SECRET_BYTES: Final = 4096


def _scrypt(secret: str, salt: bytes, params: ScryptParams) -> bytes:
    return hashlib.scrypt(
        secret_bytes(secret),
        salt=salt,
        n=params.n,
        r=params.r,
        p=params.p,
        dklen=params.key_length,
        maxmem=params.maxmem,
    )


def _check_secret(secret: object) -> str:
    if not isinstance(secret, str) or len(secret) > _MAX_SECRET_BYTES:
        raise VerifyMismatch("secret does not match")
    return secret


_SEED_RE: Final = re.compile(r"([0-9a-f]{128})\.([0-9a-f]{16})")


class SeedScryptHasher:
    """The article's format: 128 hex of scrypt(secret, salt) then ``.`` and a 16-hex salt.

    The salt is used as text (its 16 ASCII characters), exactly as Node's
    ``scryptSync(key, salt, 64)`` does with a string salt; kept to read imported records.
    """

    name = "seed"

    def __init__(self, params: ScryptParams = SCRYPT_ARTICLE) -> None:
        self.params = params

    def hash(self, secret: str) -> str:
        salt = secrets.token_hex(8)
        return f"{_scrypt(secret, salt.encode('ascii'), self.params).hex()}.{salt}"

    def verify(self, stored: str, secret: str) -> None:
        match = _SEED_RE.fullmatch(stored)
        if match is None:
            raise UnknownHashFormat("not an article scrypt string")
        expected, salt = match.groups()
        actual = _scrypt(_check_secret(secret), salt.encode("ascii"), self.params)
        if not hmac.compare_digest(actual, bytes.fromhex(expected)):
            raise VerifyMismatch("secret does not match")

    def identifies(self, stored: str) -> bool:
        return _SEED_RE.fullmatch(stored) is not None

    def needs_rehash(self, stored: str) -> bool:
        return False


_PHC_RE: Final = re.compile(
    r"\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]{11,88})\$([A-Za-z0-9+/]{22,172})"
)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


class ScryptHasher:
    """PHC-format scrypt: ``$scrypt$ln=14,r=8,p=1$<b64 salt>$<b64 hash>``; the default."""

    name = "scrypt"

    def __init__(self, params: ScryptParams = SCRYPT_DEFAULT) -> None:
        self.params = params

    def hash(self, secret: str) -> str:
        salt = secrets.token_bytes(self.params.salt_length)
        digest = _scrypt(secret, salt, self.params)
        p = self.params
        return f"$scrypt$ln={p.ln},r={p.r},p={p.p}${_b64(salt)}${_b64(digest)}"

    def _parse(self, stored: str) -> tuple[ScryptParams, bytes, bytes]:
        match = _PHC_RE.fullmatch(stored)
        if match is None:
            raise UnknownHashFormat("not a PHC scrypt string")
        ln, r, p = (int(g) for g in match.groups()[:3])
        if not (1 <= ln <= 20 and 1 <= r <= 32 and 1 <= p <= 16) or (128 * r << ln) > 1 << 30:
            raise UnknownHashFormat("scrypt parameters out of range")
        try:
            salt, digest = _unb64(match.group(4)), _unb64(match.group(5))
        except binascii.Error:
            raise UnknownHashFormat("bad base64 in scrypt string") from None
        params = ScryptParams(ln=ln, r=r, p=p, key_length=len(digest), salt_length=len(salt))
        return params, salt, digest

    def verify(self, stored: str, secret: str) -> None:
        params, salt, expected = self._parse(stored)
        actual = _scrypt(_check_secret(secret), salt, params)
        if not hmac.compare_digest(actual, expected):
            raise VerifyMismatch("secret does not match")

    def identifies(self, stored: str) -> bool:
        return stored.startswith("$scrypt$")

    def needs_rehash(self, stored: str) -> bool:
        try:
            params, _salt, _digest = self._parse(stored)
        except UnknownHashFormat:
            return True
        mine = self.params
        return (params.ln, params.r, params.p, params.key_length) != (
            mine.ln,
            mine.r,
            mine.p,
            mine.key_length,
        )
