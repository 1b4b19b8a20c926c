"""The readers of imported keys' hash strings, against strings the libraries make."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    PBKDF2PasswordHasher,
    PBKDF2SHA1PasswordHasher,
)
from keygate.keys import generate_key
from rest_framework_api_key.crypto import KeyGenerator

from keyhive.core.hashing import DjangoKeyHasher, KeygateKeyHasher, make_hashing
from keyhive.core.legacy_keys import legacy_id_of

KEY = "AbCd1234.EfGh5678IjKl9012MnOp3456QrSt7890"


@pytest.mark.parametrize(
    "stored",
    [
        KeyGenerator().hash(KEY),  # sha512$$ (the library's own, since 2.0)
        PBKDF2PasswordHasher().encode(KEY, "saltsalt", iterations=1000),
        PBKDF2SHA1PasswordHasher().encode(KEY, "saltsalt", iterations=1000),
        Argon2PasswordHasher().encode(KEY, "saltsaltsalt"),
    ],
    ids=["sha512", "pbkdf2_sha256", "pbkdf2_sha1", "argon2"],
)
def test_djangorestframework_api_key_strings_are_read(stored: str) -> None:
    hashing = make_hashing(profile="cheapest")
    assert hashing.reader(stored).name == "drf-api-key"
    assert hashing.matches(stored, KEY)
    assert not hashing.matches(stored, KEY[:-1] + "x")
    assert not hashing.matches(stored, 42)  # type: ignore[arg-type]
    assert hashing.needs_rehash(stored), "re-hashed with keyhive's hasher after a match"


def test_fastapi_keygate_strings_are_read() -> None:
    key, prefix, stored = generate_key()
    hashing = make_hashing(profile="cheapest")
    assert hashing.reader(stored).name == "fastapi-keygate"
    assert hashing.matches(stored, key) and not hashing.matches(stored, key + "x")
    assert legacy_id_of(key) == f"keygate:{prefix}"


@pytest.mark.parametrize(
    "stored",
    ["sha512$$" + "0" * 127, "pbkdf2_sha256$0$salt$aGFzaA==", "bcrypt_sha256$$2b$12$x", "f" * 63],
)
def test_other_strings_are_not_theirs(stored: str) -> None:
    hashing = make_hashing(profile="cheapest")
    assert not hashing.matches(stored, KEY)
    assert not DjangoKeyHasher().identifies(stored) or stored.startswith("pbkdf2_sha256$0$")
    assert not KeygateKeyHasher().identifies(stored)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (KEY, "drf:AbCd1234"),
        ("kg_1a2b3c4d_" + "x-_Y" * 10, "keygate:1a2b3c4d"),
        ("AbCd1234", None),
        ("kg__secret", None),
        ("has space.inside", None),
        ("kh_H6CZksPvnaqL1lsb_vjZkt", None),
    ],
)
def test_only_their_shapes_are_looked_up(key: str, expected: str | None) -> None:
    assert legacy_id_of(key) == expected
