"""Keyed digests of presented credentials: the cache key, and the check value stored
beside each secret's slow hash.

A digest is keyed BLAKE2b-256 (the MAC mode of RFC 7693) under a subkey of a server key
that never lives in the database. Checking a token against its stored digest costs
about a microsecond, so a wrong guess costs no slow hash and a restarted node needs no
scrypt to recognise tokens it has never seen; a copy of the database alone is no help
to an attacker, who still faces the slow hash. Stored as ``<key id>:<base64>``, so
digests made under an older server key keep working until rewritten under the newest.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from hashlib import blake2b
from typing import Final

from keyhive.core.serverkeys import ServerKeys

PURPOSE: Final = "verification digest"
SIZE: Final = 32


def _encoded(text: str) -> bytes:
    # Presented credentials are untrusted: a lone surrogate must digest, not raise.
    return text.encode("utf-8", "surrogatepass")


class Digester:
    """Makes and checks digests under the configured server keys (newest first)."""

    __slots__ = ("_keyed", "_keys", "_newest", "newest_id")

    def __init__(self, keys: ServerKeys) -> None:
        self._keys = keys
        self.newest_id = keys.newest_id
        self._keyed: dict[str, blake2b] = {}
        for ident in keys.ids:
            self._keyed[ident] = blake2b(key=keys.derive(PURPOSE, ident), digest_size=SIZE)
        self._newest = self._keyed[self.newest_id]

    def digest(self, text: str) -> bytes:
        """The digest of ``text`` under the newest key (the cache key of a credential)."""
        digest = self._newest.copy()  # copying the keyed state skips the key setup
        digest.update(text.encode("utf-8", "surrogatepass"))
        return digest.digest()

    __call__ = digest

    def under(self, key_id: str, text: str) -> bytes | None:
        """The digest of ``text`` under key ``key_id``; None if that key is not configured."""
        keyed = self._keyed.get(key_id)
        if keyed is None:
            return None
        digest = keyed.copy()
        digest.update(_encoded(text))
        return digest.digest()

    def stored(self, digest: bytes) -> str:
        """The stored form of a digest made under the newest key."""
        return f"{self.newest_id}:{base64.b64encode(digest).decode('ascii')}"

    def matches(self, stored: str, text: str, newest: bytes) -> bool | None:
        """Whether ``text`` is what ``stored`` was made from, in constant time.

        ``newest`` is the digest of ``text`` under the newest key, already computed as the
        cache key. None when ``stored`` cannot be checked here (unreadable, or made under
        a server key that is no longer configured): the caller falls back to the slow hash.
        """
        parsed = parse_stored(stored)
        if parsed is None:
            return None
        key_id, expected = parsed
        actual = newest if key_id == self.newest_id else self.under(key_id, text)
        if actual is None:
            return None
        return hmac.compare_digest(actual, expected)

    def is_current(self, stored: str) -> bool:
        """Whether ``stored`` was made under the newest key (else rewrite it after a match)."""
        return stored.startswith(self.newest_id + ":")


def parse_stored(stored: str) -> tuple[str, bytes] | None:
    """``(key id, digest)`` of a stored digest, or None if it is not one."""
    key_id, sep, encoded = stored.partition(":")
    if not sep or not key_id:
        return None
    try:
        # strict_mode: only the alphabet and correct padding, like b64decode(validate=True),
        # without its Python wrapper (this runs on every check of a digest).
        raw = binascii.a2b_base64(encoded, strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    return (key_id, raw) if len(raw) == SIZE else None
