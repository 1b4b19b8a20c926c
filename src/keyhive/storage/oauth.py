"""What OAuth access tokens need from a database: signing keys and revoked token ids.

Every Store offers this as ``store.oauth`` (memory: :mod:`.oauth_memory`, SQL:
:mod:`.oauth_sql`). Writes that others must learn about commit together with their
audit event, so the audit log carries them to every node like any admin change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from keyhive.core.model import AuditEvent


@dataclass(frozen=True, slots=True)
class SigningKeyRecord:
    """One signing key as stored: the public JWK in plain, the private key sealed."""

    kid: str
    generation: int
    alg: str
    public_jwk: Mapping[str, Any]
    private_sealed: str = field(repr=False)
    server_key_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RevokedToken:
    """An access token revoked before its expiry, known by its ``jti``."""

    jti: str
    client_id: str
    secret_id: str | None
    expires_at: datetime
    revoked_at: datetime


class OAuthStore(Protocol):
    """Signing keys and the deny-list of revoked access tokens."""

    def signing_keys(self) -> list[SigningKeyRecord]:
        """Every stored key, newest generation first."""
        ...

    def add_signing_key(self, record: SigningKeyRecord, event: AuditEvent) -> bool:
        """Insert a key with its audit event; False (nothing written) if its generation
        or kid is taken, i.e. another node rotated first."""
        ...

    def delete_signing_keys(self, kids: Sequence[str]) -> None:
        """Drop retired keys (their private material goes with them)."""
        ...

    def revoke_token(self, revoked: RevokedToken, event: AuditEvent) -> bool:
        """Deny-list a jti with its audit event; False if it was already listed."""
        ...

    def revoked_token(self, jti: str) -> RevokedToken | None: ...

    def revoked_tokens(self, *, expiring_after: datetime) -> list[RevokedToken]:
        """Listed tokens that have not expired by ``expiring_after``."""
        ...

    def drop_revoked_tokens(self, *, expired_before: datetime) -> int:
        """Forget listed tokens that expired before ``expired_before``; how many."""
        ...
