"""Hashers behind one protocol: scrypt (PHC and the article's format), hmac-sha256, argon2id,
and readers of imported keys' strings (djangorestframework-api-key, fastapi-keygate)."""

from keyhive.core.hashing._argon2 import Argon2Hasher
from keyhive.core.hashing._hmac import HmacHasher, parse_peppers
from keyhive.core.hashing._keyring import HASHER_NAMES, PROFILES, Hashing, make_hashing
from keyhive.core.hashing._legacy import DjangoKeyHasher, KeygateKeyHasher
from keyhive.core.hashing._protocol import Hasher
from keyhive.core.hashing._scrypt import (
    SCRYPT_ARTICLE,
    SCRYPT_CHEAPEST,
    SCRYPT_DEFAULT,
    ScryptHasher,
    ScryptParams,
    SeedScryptHasher,
)

__all__ = [
    "HASHER_NAMES",
    "PROFILES",
    "SCRYPT_ARTICLE",
    "SCRYPT_CHEAPEST",
    "SCRYPT_DEFAULT",
    "Argon2Hasher",
    "DjangoKeyHasher",
    "Hasher",
    "Hashing",
    "HmacHasher",
    "KeygateKeyHasher",
    "ScryptHasher",
    "ScryptParams",
    "SeedScryptHasher",
    "make_hashing",
    "parse_peppers",
]
