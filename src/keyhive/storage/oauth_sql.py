"""The SQL OAuthStore (SQLite and PostgreSQL), on the connections of a SqlStore.

A new signing key is a plain INSERT: the unique ``generation`` column decides which of
two racing nodes rotates, on either database, without locks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from keyhive.core.model import AuditEvent
from keyhive.storage import schema as t
from keyhive.storage.oauth import RevokedToken, SigningKeyRecord

if TYPE_CHECKING:
    from keyhive.storage.sql import SqlStore


def _key(row: Any) -> SigningKeyRecord:
    return SigningKeyRecord(
        kid=row.kid,
        generation=row.generation,
        alg=row.alg,
        public_jwk=dict(row.public_jwk),
        private_sealed=row.private_sealed,
        server_key_id=row.server_key_id,
        created_at=row.created_at,
    )


def _revoked(row: Any) -> RevokedToken:
    return RevokedToken(
        jti=row.jti,
        client_id=row.client_id,
        secret_id=row.secret_id,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


class SqlOAuthStore:
    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def signing_keys(self) -> list[SigningKeyRecord]:
        keys = t.oauth_signing_keys
        with self._store._connect() as conn:
            rows = conn.execute(sa.select(keys).order_by(keys.c.generation.desc())).all()
        return [_key(row) for row in rows]

    def add_signing_key(self, record: SigningKeyRecord, event: AuditEvent) -> bool:
        from keyhive.storage.sql import _SqlTransaction

        try:
            with self._store._write() as conn:
                conn.execute(
                    t.oauth_signing_keys.insert().values(
                        kid=record.kid,
                        generation=record.generation,
                        alg=record.alg,
                        public_jwk=dict(record.public_jwk),
                        private_sealed=record.private_sealed,
                        server_key_id=record.server_key_id,
                        created_at=record.created_at,
                    )
                )
                _SqlTransaction(conn).append_audit(event)
        except IntegrityError:
            return False
        return True

    def delete_signing_keys(self, kids: Sequence[str]) -> None:
        if not kids:
            return
        keys = t.oauth_signing_keys
        with self._store._write() as conn:
            conn.execute(keys.delete().where(keys.c.kid.in_(list(kids))))

    def revoke_token(self, revoked: RevokedToken, event: AuditEvent) -> bool:
        from keyhive.storage.sql import _SqlTransaction

        try:
            with self._store._write() as conn:
                conn.execute(
                    t.oauth_revoked_tokens.insert().values(
                        jti=revoked.jti,
                        client_id=revoked.client_id,
                        secret_id=revoked.secret_id,
                        expires_at=revoked.expires_at,
                        revoked_at=revoked.revoked_at,
                    )
                )
                _SqlTransaction(conn).append_audit(event)
        except IntegrityError:
            return False
        return True

    def revoked_token(self, jti: str) -> RevokedToken | None:
        table = t.oauth_revoked_tokens
        with self._store._connect() as conn:
            row = conn.execute(sa.select(table).where(table.c.jti == jti)).first()
        return _revoked(row) if row else None

    def revoked_tokens(self, *, expiring_after: datetime) -> list[RevokedToken]:
        table = t.oauth_revoked_tokens
        with self._store._connect() as conn:
            rows = conn.execute(sa.select(table).where(table.c.expires_at > expiring_after))
            return [_revoked(row) for row in rows]

    def drop_revoked_tokens(self, *, expired_before: datetime) -> int:
        table = t.oauth_revoked_tokens
        with self._store._write() as conn:
            result = conn.execute(table.delete().where(table.c.expires_at < expired_before))
        return int(result.rowcount or 0)
