"""Signatures of GitHub's secret scanning reports: ECDSA P-256 with SHA-256 over the raw body.

GitHub publishes its keys as ``{"public_keys": [{"key_identifier", "key", "is_current"}]}``
(``key`` is a PEM public key); a report names the key it was signed with in
``Github-Public-Key-Identifier`` and carries a base64 DER signature in
``Github-Public-Key-Signature``. keyhive reads the keys from a file (it does not fetch
them: copy GitHub's document there, by hand or from a scheduled job), and reads it
again whenever the file changes, so new keys apply without a restart.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

MAX_KEYS_FILE: Final = 1 << 20
MAX_HEADER: Final = 1024
_log = logging.getLogger("keyhive.server")


class KeysUnavailable(Exception):
    """The keys file cannot be read or holds no usable key (the service answers 503)."""


def parse_public_keys(text: str) -> dict[str, ec.EllipticCurvePublicKey]:
    """The P-256 keys of a ``public_keys`` document by key_identifier; others are skipped."""
    try:
        document = json.loads(text)
    except ValueError:
        raise KeysUnavailable("the leak keys file is not JSON") from None
    entries = document.get("public_keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise KeysUnavailable('the leak keys file has no "public_keys" list')
    keys: dict[str, ec.EllipticCurvePublicKey] = {}
    for entry in entries:
        loaded = _key(entry)
        if loaded is not None:
            keys[loaded[0]] = loaded[1]
    if not keys:
        raise KeysUnavailable("the leak keys file holds no ECDSA P-256 public key")
    return keys


def _key(entry: Any) -> tuple[str, ec.EllipticCurvePublicKey] | None:
    if not isinstance(entry, Mapping):
        return None
    ident, pem = entry.get("key_identifier"), entry.get("key")
    if not isinstance(ident, str) or not ident or not isinstance(pem, str):
        return None
    try:
        key = load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm):
        _log.warning("leak keys file: key %.16s is not a PEM public key; skipped", ident)
        return None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        _log.warning("leak keys file: key %.16s is not ECDSA P-256; skipped", ident)
        return None
    return ident, key


class LeakKeys:
    """GitHub's public keys from ``path``, re-read when the file changes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._keys: dict[str, ec.EllipticCurvePublicKey] = {}

    def keys(self) -> dict[str, ec.EllipticCurvePublicKey]:
        """The current keys; raises KeysUnavailable when the file cannot be used."""
        try:
            info = self.path.stat()
        except OSError as exc:
            raise KeysUnavailable(f"the leak keys file cannot be read ({exc.strerror})") from None
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        with self._lock:
            if stamp != self._stamp:
                self._keys = self._load(info.st_size)
                self._stamp = stamp
            return self._keys

    def _load(self, size: int) -> dict[str, ec.EllipticCurvePublicKey]:
        if size > MAX_KEYS_FILE:
            raise KeysUnavailable("the leak keys file is larger than 1 MiB")
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise KeysUnavailable("the leak keys file cannot be read") from None
        return parse_public_keys(text)

    def verify(self, key_id: str | None, signature: str | None, body: bytes) -> bool:
        """Whether ``signature`` (base64 DER) is key ``key_id``'s over ``body``.

        False for a missing or oversized header, an unknown key, a signature that is
        not base64 or not DER, or one that does not match. KeysUnavailable propagates.
        """
        if not key_id or not signature or len(key_id) > MAX_HEADER or len(signature) > MAX_HEADER:
            return False
        key = self.keys().get(key_id)
        if key is None:
            return False
        try:
            der = base64.b64decode(signature.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        try:
            key.verify(der, body, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True
