"""The in-memory OAuthStore, kept beside a MemoryStore (its audit log and its lock)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from keyhive.core.model import AuditEvent
from keyhive.storage.oauth import RevokedToken, SigningKeyRecord

if TYPE_CHECKING:
    from keyhive.storage.memory import MemoryStore


class MemoryOAuthStore:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._keys: dict[str, SigningKeyRecord] = {}
        self._revoked: dict[str, RevokedToken] = {}

    def signing_keys(self) -> list[SigningKeyRecord]:
        with self._store._lock:
            return sorted(self._keys.values(), key=lambda k: -k.generation)

    def add_signing_key(self, record: SigningKeyRecord, event: AuditEvent) -> bool:
        with self._store.transaction() as tx:
            taken = {k.generation for k in self._keys.values()}
            if record.kid in self._keys or record.generation in taken:
                return False
            tx.append_audit(event)
            self._keys[record.kid] = record
        return True

    def delete_signing_keys(self, kids: Sequence[str]) -> None:
        with self._store._lock:
            for kid in kids:
                self._keys.pop(kid, None)

    def revoke_token(self, revoked: RevokedToken, event: AuditEvent) -> bool:
        with self._store.transaction() as tx:
            if revoked.jti in self._revoked:
                return False
            tx.append_audit(event)
            self._revoked[revoked.jti] = revoked
        return True

    def revoked_token(self, jti: str) -> RevokedToken | None:
        return self._revoked.get(jti)

    def revoked_tokens(self, *, expiring_after: datetime) -> list[RevokedToken]:
        with self._store._lock:
            return [r for r in self._revoked.values() if r.expires_at > expiring_after]

    def drop_revoked_tokens(self, *, expired_before: datetime) -> int:
        with self._store._lock:
            gone = [j for j, r in self._revoked.items() if r.expires_at < expired_before]
            for jti in gone:
                del self._revoked[jti]
        return len(gone)

    def clear(self) -> None:
        with self._store._lock:
            self._keys.clear()
            self._revoked.clear()
