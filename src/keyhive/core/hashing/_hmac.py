"""hmac-sha256 keyed with a server pepper kept outside the database.

Fast enough for every request (tokens carry 256 random bits, so no slow hash is needed
to resist guessing), while a stolen database alone is useless without the pepper.
Peppers are listed oldest to newest; new hashes use the newest, old ones keep working
until re-hashed after their next successful verification.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from typing import Final

from keyhive.core.errors import ConfigurationError, UnknownHashFormat, VerifyMismatch
from keyhive.core.hashing._protocol import secret_bytes

_HMAC_RE: Final = re.compile(r"\$hmac-sha256\$k=([A-Za-z0-9_.\-]{1,32})\$([A-Za-z0-9+/]{43})")
_PEPPER_ID_RE: Final = re.compile(r"[A-Za-z0-9_.\-]{1,32}")


def parse_peppers(text: str) -> list[tuple[str, bytes]]:
    """Read ``id=value,id=value`` (oldest first) as in ``KEYHIVE_PEPPERS``; values are UTF-8."""
    peppers: list[tuple[str, bytes]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        ident, sep, value = item.partition("=")
        if not sep or not _PEPPER_ID_RE.fullmatch(ident) or len(value) < 16:
            raise ConfigurationError(
                "KEYHIVE_PEPPERS must be id=value pairs separated by commas, "
                "each id of [A-Za-z0-9_.-] and each value at least 16 characters"
            )
        if any(ident == seen for seen, _ in peppers):
            raise ConfigurationError(f"KEYHIVE_PEPPERS names pepper {ident!r} twice")
        peppers.append((ident, value.encode("utf-8")))
    return peppers


class HmacHasher:
    """``$hmac-sha256$k=<pepper id>$<b64 hash>`` with peppers oldest to newest."""

    name = "hmac-sha256"

    def __init__(self, peppers: Sequence[tuple[str, bytes]] | Mapping[str, bytes]) -> None:
        items = list(peppers.items()) if isinstance(peppers, Mapping) else list(peppers)
        if not items:
            raise ConfigurationError("hmac-sha256 needs at least one pepper (KEYHIVE_PEPPERS)")
        for ident, key in items:
            # An id outside this alphabet would make hash strings that verify cannot read.
            if not isinstance(ident, str) or not _PEPPER_ID_RE.fullmatch(ident):
                raise ConfigurationError("each pepper id must be 1 to 32 of [A-Za-z0-9_.-]")
            if not isinstance(key, bytes) or not key:
                raise ConfigurationError("each pepper value must be non-empty bytes")
        self._peppers = dict(items)
        self._current_id, self._current = items[-1]

    def _digest(self, key: bytes, secret: str) -> str:
        raw = hmac.new(key, secret_bytes(secret), hashlib.sha256).digest()
        return base64.b64encode(raw).decode("ascii").rstrip("=")

    def hash(self, secret: str) -> str:
        return f"$hmac-sha256$k={self._current_id}${self._digest(self._current, secret)}"

    def verify(self, stored: str, secret: str) -> None:
        match = _HMAC_RE.fullmatch(stored)
        if match is None:
            raise UnknownHashFormat("not an hmac-sha256 string")
        key = self._peppers.get(match.group(1))
        if key is None:
            raise UnknownHashFormat("the pepper of this hash is not configured")
        if not isinstance(secret, str):
            raise VerifyMismatch("secret does not match")
        try:
            expected = base64.b64decode(match.group(2) + "=", validate=True)
        except binascii.Error:
            raise UnknownHashFormat("bad base64 in hmac string") from None
        actual = hmac.new(key, secret_bytes(secret), hashlib.sha256).digest()
        if not hmac.compare_digest(actual, expected):
            raise VerifyMismatch("secret does not match")

    def identifies(self, stored: str) -> bool:
        return stored.startswith("$hmac-sha256$")

    def needs_rehash(self, stored: str) -> bool:
        match = _HMAC_RE.fullmatch(stored)
        return match is None or match.group(1) != self._current_id
