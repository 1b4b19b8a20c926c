"""argon2id through argon2-cffi (the optional ``argon2`` extra), in its own string format."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keyhive.core.errors import ConfigurationError, UnknownHashFormat, VerifyMismatch
from keyhive.core.hashing._protocol import secret_bytes

if TYPE_CHECKING:
    from argon2 import Parameters


def _load() -> Any:
    try:
        import argon2
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ConfigurationError(
            "the argon2id hasher needs the argon2 extra: pip install 'keyhive[argon2]'"
        ) from None
    return argon2


class Argon2Hasher:
    """argon2id with a named argon2-cffi profile (``RFC_9106_LOW_MEMORY`` by default)."""

    name = "argon2id"

    def __init__(self, profile: Parameters | str = "RFC_9106_LOW_MEMORY") -> None:
        argon2 = _load()
        if isinstance(profile, str):
            params = getattr(argon2.profiles, profile, None)
            if not isinstance(params, argon2.Parameters):
                raise ConfigurationError(f"unknown argon2 profile {profile!r}")
        else:
            params = profile
        self._hasher = argon2.PasswordHasher.from_parameters(params)
        self._errors = argon2.exceptions

    def hash(self, secret: str) -> str:
        return str(self._hasher.hash(secret_bytes(secret)))

    def verify(self, stored: str, secret: str) -> None:
        if not isinstance(secret, str):
            raise VerifyMismatch("secret does not match")
        try:
            self._hasher.verify(stored, secret_bytes(secret))
        except self._errors.VerifyMismatchError:
            raise VerifyMismatch("secret does not match") from None
        except (self._errors.InvalidHashError, self._errors.VerificationError):
            raise UnknownHashFormat("not a valid argon2id string") from None

    def identifies(self, stored: str) -> bool:
        return stored.startswith("$argon2id$")

    def needs_rehash(self, stored: str) -> bool:
        try:
            return bool(self._hasher.check_needs_rehash(stored))
        except self._errors.InvalidHashError:
            return True
