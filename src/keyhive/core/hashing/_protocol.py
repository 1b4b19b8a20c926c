"""What every hasher offers: hash, verify (raises on mismatch) and needs_rehash."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


def secret_bytes(secret: str) -> bytes:
    """UTF-8 bytes of ``secret``; a lone surrogate passes through instead of raising.

    Presented secrets come from untrusted input, and an encoding error must end as a
    mismatch, not escape verification. Valid text encodes exactly as plain UTF-8.
    """
    return secret.encode("utf-8", "surrogatepass")


@runtime_checkable
class Hasher(Protocol):
    """One way of turning a secret into a stored string and checking it later."""

    #: The setting's name (``scrypt``, ``seed``, ``argon2id``, ``hmac-sha256``).
    name: str

    def hash(self, secret: str) -> str:
        """A new stored string for ``secret`` (fresh salt where the scheme has one)."""
        ...

    def verify(self, stored: str, secret: str) -> None:
        """Return if ``secret`` matches ``stored``; raise VerifyMismatch if it does not."""
        ...

    def identifies(self, stored: str) -> bool:
        """Whether ``stored`` is in this hasher's format (cheap, no hashing)."""
        ...

    def needs_rehash(self, stored: str) -> bool:
        """Whether ``stored`` (in this format) uses parameters other than the current ones."""
        ...
