"""Sealing signing keys for the database (:mod:`keyhive.service.sealing`, purpose
``oauth signing key``, the key's kid as label): a copy of the database alone holds no
usable private key, and a sealed key copied onto another row does not open.
"""

from __future__ import annotations

from typing import Final

from keyhive.core.serverkeys import ServerKeys
from keyhive.service import sealing

PURPOSE: Final = "oauth signing key"


def seal(keys: ServerKeys, server_key_id: str, kid: str, plaintext: bytes) -> str:
    """``v1.<base64url(nonce || ciphertext || tag)>``."""
    return sealing.seal(keys, PURPOSE, server_key_id, kid, plaintext)


def unseal(keys: ServerKeys, server_key_id: str, kid: str, sealed: str) -> bytes:
    """The plaintext; ConfigurationError if the server key is gone or does not fit."""
    return sealing.unseal(keys, PURPOSE, server_key_id, kid, sealed)
