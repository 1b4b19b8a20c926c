"""Sealing signing keys for the database: AES-256-GCM under a server-key subkey.

The subkey is ``server_keys.derive("oauth signing key", server_key_id)``, so a copy of
the database alone holds no usable private key. The key id is authenticated data: a
sealed key copied onto another row does not open.
"""

from __future__ import annotations

import base64
import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keyhive.core.errors import ConfigurationError
from keyhive.core.serverkeys import ServerKeys

PURPOSE: Final = "oauth signing key"
_NONCE: Final = 12
_VERSION: Final = "v1."


def _aad(kid: str) -> bytes:
    return f"keyhive oauth signing key {kid}".encode()


def seal(keys: ServerKeys, server_key_id: str, kid: str, plaintext: bytes) -> str:
    """``v1.<base64url(nonce || ciphertext || tag)>``."""
    nonce = os.urandom(_NONCE)
    box = AESGCM(keys.derive(PURPOSE, server_key_id)).encrypt(nonce, plaintext, _aad(kid))
    return _VERSION + base64.urlsafe_b64encode(nonce + box).decode("ascii")


def unseal(keys: ServerKeys, server_key_id: str, kid: str, sealed: str) -> bytes:
    """The plaintext; ConfigurationError if the server key is gone or does not fit."""
    if server_key_id not in keys:
        raise ConfigurationError(
            f"signing key {kid} was sealed with server key {server_key_id!r}, "
            "which is no longer configured"
        )
    if not sealed.startswith(_VERSION):
        raise ConfigurationError(f"signing key {kid} is not sealed in a known format")
    raw = base64.urlsafe_b64decode(sealed[len(_VERSION) :])
    try:
        return AESGCM(keys.derive(PURPOSE, server_key_id)).decrypt(
            raw[:_NONCE], raw[_NONCE:], _aad(kid)
        )
    except InvalidTag:
        raise ConfigurationError(
            f"signing key {kid} does not open with server key {server_key_id!r}"
        ) from None
