"""The set of hashers in use: one makes new strings, all of them read old ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from keyhive.core.errors import ConfigurationError, UnknownHashFormat, VerifyMismatch
from keyhive.core.hashing._argon2 import Argon2Hasher
from keyhive.core.hashing._hmac import HmacHasher
from keyhive.core.hashing._legacy import DjangoKeyHasher, KeygateKeyHasher
from keyhive.core.hashing._protocol import Hasher
from keyhive.core.hashing._scrypt import (
    SCRYPT_CHEAPEST,
    SCRYPT_DEFAULT,
    ScryptHasher,
    SeedScryptHasher,
)

HASHER_NAMES: Final = ("scrypt", "argon2id", "hmac-sha256")
PROFILES: Final = ("default", "cheapest")

# A fixed input for the dummy hash that unknown ids cost; its secret is irrelevant.
_DUMMY_SECRET: Final = "keyhive-dummy-secret-for-unknown-ids"


class Hashing:
    """Dispatches on the stored string's format; knows which strings need a rehash."""

    def __init__(self, current: Hasher, readers: Sequence[Hasher] = ()) -> None:
        self.current = current
        self._all: tuple[Hasher, ...] = (current, *(h for h in readers if h is not current))
        self._dummy = current.hash(_DUMMY_SECRET)

    @property
    def name(self) -> str:
        return self.current.name

    def hash(self, secret: str) -> str:
        """A stored string for ``secret`` made by the current hasher."""
        return self.current.hash(secret)

    def reader(self, stored: str) -> Hasher:
        """The hasher that reads ``stored``; raises UnknownHashFormat if none does."""
        for hasher in self._all:
            if hasher.identifies(stored):
                return hasher
        raise UnknownHashFormat("no configured hasher reads this stored string")

    def verify(self, stored: str, secret: str) -> None:
        """Return if ``secret`` matches ``stored``; raise VerifyMismatch otherwise."""
        self.reader(stored).verify(stored, secret)

    def matches(self, stored: str, secret: str) -> bool:
        """Like verify, as a boolean; an unreadable string counts as a mismatch."""
        try:
            self.verify(stored, secret)
        except (VerifyMismatch, UnknownHashFormat):
            return False
        return True

    def dummy_verify(self, secret: str) -> None:
        """Spend the work of one verification, so an unknown id costs as much as a wrong secret."""
        self.matches(self._dummy, secret if isinstance(secret, str) else "")

    def needs_rehash(self, stored: str) -> bool:
        """Whether ``stored`` should be re-made by the current hasher after a good verify."""
        if not self.current.identifies(stored):
            return True
        return self.current.needs_rehash(stored)


def make_hashing(
    hasher: str = "scrypt",
    *,
    peppers: Sequence[tuple[str, bytes]] = (),
    profile: str = "default",
) -> Hashing:
    """Build the keyring for a setting: ``hasher`` for new secrets, every format readable.

    ``profile="cheapest"`` selects the lowest costs, for tests only.
    """
    if profile not in PROFILES:
        raise ConfigurationError(f"unknown hashing profile {profile!r}; use one of {PROFILES}")
    cheap = profile == "cheapest"
    scrypt = ScryptHasher(SCRYPT_CHEAPEST if cheap else SCRYPT_DEFAULT)
    # Imported keys of other libraries are read (never made) until their first use.
    readers: list[Hasher] = [scrypt, SeedScryptHasher(), DjangoKeyHasher(), KeygateKeyHasher()]
    if peppers:
        readers.append(HmacHasher(peppers))
    try:
        readers.append(Argon2Hasher("CHEAPEST" if cheap else "RFC_9106_LOW_MEMORY"))
    except ConfigurationError:
        if hasher == "argon2id":
            raise
    by_name = {h.name: h for h in readers}
    if hasher not in HASHER_NAMES:
        raise ConfigurationError(f"unknown hasher {hasher!r}; use one of {', '.join(HASHER_NAMES)}")
    if hasher not in by_name:
        raise ConfigurationError("hmac-sha256 needs at least one pepper (KEYHIVE_PEPPERS)")
    return Hashing(by_name[hasher], readers)
