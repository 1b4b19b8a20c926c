"""Sealing material for the database: AES-256-GCM under a subkey of a server key.

The subkey is ``server_keys.derive(purpose, server_key_id)``, so a copy of the database
alone opens nothing. ``keyhive <purpose> <label>`` (the record's id) is authenticated
data: sealed material copied onto another record does not open. OAuth signing keys and
webhook signing secrets are sealed this way, each under its own purpose.

``cryptography`` is imported on first use: ``import keyhive`` stays light.
"""

from __future__ import annotations

import base64
import os
from typing import Final

from keyhive.core.errors import ConfigurationError
from keyhive.core.serverkeys import ServerKeys

_NONCE: Final = 12
_VERSION: Final = "v1."


def _aad(purpose: str, label: str) -> bytes:
    return f"keyhive {purpose} {label}".encode()


def seal(keys: ServerKeys, purpose: str, server_key_id: str, label: str, plaintext: bytes) -> str:
    """``v1.<base64url(nonce || ciphertext || tag)>``."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(_NONCE)
    box = AESGCM(keys.derive(purpose, server_key_id)).encrypt(
        nonce, plaintext, _aad(purpose, label)
    )
    return _VERSION + base64.urlsafe_b64encode(nonce + box).decode("ascii")


def unseal(keys: ServerKeys, purpose: str, server_key_id: str, label: str, sealed: str) -> bytes:
    """The plaintext; ConfigurationError if the server key is gone or does not fit."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if server_key_id not in keys:
        raise ConfigurationError(
            f"{purpose} {label} was sealed with server key {server_key_id!r}, "
            "which is no longer configured"
        )
    if not sealed.startswith(_VERSION):
        raise ConfigurationError(f"{purpose} {label} is not sealed in a known format")
    raw = base64.urlsafe_b64decode(sealed[len(_VERSION) :])
    try:
        return AESGCM(keys.derive(purpose, server_key_id)).decrypt(
            raw[:_NONCE], raw[_NONCE:], _aad(purpose, label)
        )
    except InvalidTag:
        raise ConfigurationError(
            f"{purpose} {label} does not open with server key {server_key_id!r}"
        ) from None
