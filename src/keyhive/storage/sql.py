"""The SQL store: SQLite (default, one node) and PostgreSQL (many nodes) via SQLAlchemy Core.

SQLite runs in WAL mode with ``synchronous=FULL``, so an issued secret is on disk
before ``issue_secret`` returns and readers (a running server) never block the writer
(the CLI).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError

from keyhive.core.errors import (
    ClientNotFound,
    ConfigurationError,
    Conflict,
    SecretNotFound,
    StorageUnavailable,
)
from keyhive.core.model import AuditEvent, Client, Secret, StoredSecret
from keyhive.core.quotas import RateLimit
from keyhive.core.usage import UsageRow
from keyhive.storage import browse_sql, usage_sql
from keyhive.storage import schema as t
from keyhive.storage._protocol import Transaction, Usage

_MIGRATIONS = Path(__file__).parent / "migrations"
_WRITE_FLAG = "keyhive_write"
#: Any constant: PostgreSQL advisory lock held while migrating, so nodes that start
#: together migrate one after the other instead of racing to create the same tables.
_MIGRATION_LOCK = 0x6B657968
#: Alembic keeps its migration context in module globals: one migration per process at a time.
_ALEMBIC = threading.Lock()


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings keyhive relies on (WAL and FULL sync on SQLite)."""
    try:
        parsed = sa.engine.make_url(url)
    except ArgumentError:
        raise ConfigurationError("database URL cannot be read") from None
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin,
            # so savepoints and rollbacks behave (SQLAlchemy's documented pysqlite recipe).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # Writers take the write lock up front: a deferred transaction that reads
            # first could fail at once with SQLITE_BUSY when it upgrades under contention.
            immediate = conn.info.pop(_WRITE_FLAG, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10)
    raise ConfigurationError(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql+psycopg://"
    )


def _client(row: Any) -> Client:
    return Client(
        client_id=row.client_id,
        name=row.name,
        owner=row.owner,
        metadata=row.metadata or {},
        enabled=bool(row.enabled),
        created_at=row.created_at,
    )


def _client_values(client: Client) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "owner": client.owner,
        "metadata": dict(client.metadata),
        "enabled": client.enabled,
        "created_at": client.created_at,
    }


def _secret_values(secret: Secret) -> dict[str, Any]:
    return {
        "client_id": secret.client_id,
        "name": secret.name,
        "prefix": secret.prefix,
        "created_at": secret.created_at,
        "expires_at": secret.expires_at,
        "revoked_at": secret.revoked_at,
        "revoked_reason": secret.revoked_reason,
        "rotated_from": secret.rotated_from,
        "replaced_by": secret.replaced_by,
        "rate_limit": str(secret.rate_limit) if secret.rate_limit else None,
        "credits": secret.credits,
        "refill": secret.refill,
        "credits_set_at": secret.credits_set_at,
        "allowed_ips": list(secret.allowed_ips) or None,
    }


class _SqlTransaction:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def insert_client(self, client: Client) -> None:
        try:
            with self._c.begin_nested():
                self._c.execute(t.clients.insert().values(**_client_values(client)))
        except IntegrityError:
            raise Conflict("client_id exists") from None

    def update_client(self, client: Client) -> None:
        values = _client_values(client)
        del values["client_id"], values["created_at"]
        result = self._c.execute(
            t.clients.update().where(t.clients.c.client_id == client.client_id).values(**values)
        )
        if result.rowcount == 0:
            raise ClientNotFound(client.client_id)

    def insert_secret(self, stored: StoredSecret) -> None:
        secret = stored.secret
        if (
            self._c.execute(
                sa.select(t.clients.c.client_id).where(t.clients.c.client_id == secret.client_id)
            ).first()
            is None
        ):
            raise ClientNotFound(secret.client_id)
        try:
            with self._c.begin_nested():
                self._c.execute(
                    t.secrets.insert().values(
                        secret_id=secret.secret_id,
                        hash=stored.hash,
                        usage_count=0,
                        credits_used=0,
                        **_secret_values(secret),
                    )
                )
        except IntegrityError:
            raise Conflict("secret_id exists") from None
        self._write_scopes(secret)

    def _write_scopes(self, secret: Secret) -> None:
        self._c.execute(
            t.secret_scopes.delete().where(t.secret_scopes.c.secret_id == secret.secret_id)
        )
        if secret.scopes:
            self._c.execute(
                t.secret_scopes.insert(),
                [{"secret_id": secret.secret_id, "scope": s} for s in secret.scopes],
            )

    def update_secret(self, secret: Secret) -> None:
        result = self._c.execute(
            t.secrets.update()
            .where(t.secrets.c.secret_id == secret.secret_id)
            .values(**_secret_values(secret))
        )
        if result.rowcount == 0:
            raise SecretNotFound(secret.secret_id)
        self._write_scopes(secret)

    def append_audit(self, event: AuditEvent) -> None:
        self._c.execute(
            t.audit_events.insert().values(
                at=event.at,
                actor=event.actor,
                action=event.action,
                target_type=event.target_type,
                target_id=event.target_id,
                before=dict(event.before) if event.before is not None else None,
                after=dict(event.after) if event.after is not None else None,
            )
        )


class SqlStore:
    """A Store on any SQLAlchemy URL keyhive supports (``sqlite:///``, ``postgresql+psycopg://``)."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)

    # -- lifecycle -------------------------------------------------------------------------
    def migrate(self) -> None:
        """Upgrade to the newest schema; safe when several nodes start at the same time."""
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with _ALEMBIC, self._write() as conn:
            if conn.dialect.name == "postgresql":
                lock = sa.text("SELECT pg_advisory_xact_lock(:key)")
                conn.execute(lock, {"key": _MIGRATION_LOCK})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def schema_version(self) -> str | None:
        """The Alembic revision the database is at (None before ``migrate``)."""
        with self._connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            row = conn.execute(sa.text("SELECT version_num FROM alembic_version")).first()
            return str(row[0]) if row else None

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A connection inside a write transaction (BEGIN IMMEDIATE on SQLite)."""
        with self._connect() as conn:
            conn.info[_WRITE_FLAG] = True
            with conn.begin():
                yield conn

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise StorageUnavailable(f"database unavailable: {type(exc.orig).__name__}") from None

    # -- reads -----------------------------------------------------------------------------
    def get_client(self, client_id: str) -> Client | None:
        with self._connect() as conn:
            row = conn.execute(
                sa.select(t.clients).where(t.clients.c.client_id == client_id)
            ).first()
        return _client(row) if row else None

    def list_clients(
        self, *, owner: str | None = None, limit: int = 100, after: str | None = None
    ) -> list[Client]:
        query = sa.select(t.clients).order_by(t.clients.c.client_id).limit(limit)
        if owner is not None:
            query = query.where(t.clients.c.owner == owner)
        if after is not None:
            query = query.where(t.clients.c.client_id > after)
        with self._connect() as conn:
            return [_client(row) for row in conn.execute(query)]

    def _secrets(self, conn: Connection, where: Any) -> list[StoredSecret]:
        rows = conn.execute(
            sa.select(t.secrets)
            .where(where)
            .order_by(t.secrets.c.created_at, t.secrets.c.secret_id)
        ).all()
        if not rows:
            return []
        ids = [row.secret_id for row in rows]
        scopes: dict[str, list[str]] = {i: [] for i in ids}
        for sid, scope in conn.execute(
            sa.select(t.secret_scopes.c.secret_id, t.secret_scopes.c.scope).where(
                t.secret_scopes.c.secret_id.in_(ids)
            )
        ):
            scopes[sid].append(scope)
        return [
            StoredSecret(
                Secret(
                    secret_id=row.secret_id,
                    client_id=row.client_id,
                    name=row.name,
                    scopes=tuple(sorted(scopes[row.secret_id])),
                    prefix=row.prefix,
                    created_at=row.created_at,
                    expires_at=row.expires_at,
                    revoked_at=row.revoked_at,
                    revoked_reason=row.revoked_reason,
                    last_used_at=row.last_used_at,
                    usage_count=row.usage_count,
                    rotated_from=row.rotated_from,
                    replaced_by=row.replaced_by,
                    rate_limit=RateLimit.parse(row.rate_limit) if row.rate_limit else None,
                    credits=row.credits,
                    refill=row.refill,
                    credits_set_at=row.credits_set_at,
                    credits_used=row.credits_used or 0,
                    credits_period=row.credits_period,
                    allowed_ips=tuple(row.allowed_ips or ()),
                ),
                row.hash,
            )
            for row in rows
        ]

    def get_secret(self, secret_id: str) -> StoredSecret | None:
        with self._connect() as conn:
            found = self._secrets(conn, t.secrets.c.secret_id == secret_id)
        return found[0] if found else None

    def list_secrets(self, client_id: str) -> list[StoredSecret]:
        with self._connect() as conn:
            return self._secrets(conn, t.secrets.c.client_id == client_id)

    def list_audit(
        self, *, after_id: int = 0, limit: int = 100, target_id: str | None = None
    ) -> list[AuditEvent]:
        query = (
            sa.select(t.audit_events)
            .where(t.audit_events.c.id > after_id)
            .order_by(t.audit_events.c.id)
            .limit(limit)
        )
        if target_id is not None:
            query = query.where(t.audit_events.c.target_id == target_id)
        with self._connect() as conn:
            return [
                AuditEvent(
                    id=row.id,
                    at=row.at,
                    actor=row.actor,
                    action=row.action,
                    target_type=row.target_type,
                    target_id=row.target_id,
                    before=row.before,
                    after=row.after,
                )
                for row in conn.execute(query)
            ]

    def last_audit_id(self) -> int:
        with self._connect() as conn:
            value = conn.execute(sa.select(sa.func.max(t.audit_events.c.id))).scalar()
        return int(value or 0)

    # -- writes ----------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._write() as conn:
            yield _SqlTransaction(conn)

    def replace_hash(self, secret_id: str, old: str, new: str) -> bool:
        with self._write() as conn:
            result = conn.execute(
                t.secrets.update()
                .where(t.secrets.c.secret_id == secret_id, t.secrets.c.hash == old)
                .values(hash=new)
            )
        return bool(result.rowcount)

    def record_usage(self, usage: Mapping[str, Usage]) -> None:
        if not usage:
            return
        col = t.secrets.c
        with self._write() as conn:
            for secret_id, used in sorted(usage.items()):
                if used.last_used_at is None:
                    continue  # refusals only: they count in the usage buckets alone
                values: dict[str, Any] = {
                    "usage_count": col.usage_count + used.count,
                    "last_used_at": sa.case(
                        (col.last_used_at.is_(None), used.last_used_at),
                        (col.last_used_at < used.last_used_at, used.last_used_at),
                        else_=col.last_used_at,
                    ),
                }
                if used.credits_period is not None:
                    same = col.credits_period == used.credits_period
                    values["credits_used"] = sa.case(
                        (same & (col.credits_used > used.credits_used), col.credits_used),
                        else_=used.credits_used,
                    )
                    values["credits_period"] = used.credits_period
                conn.execute(t.secrets.update().where(col.secret_id == secret_id).values(**values))
            usage_sql.add_buckets(conn, usage)

    def delete_all(self) -> None:
        with self._write() as conn:
            for table in (t.usage_buckets, t.audit_events, t.secret_scopes, t.secrets, t.clients):
                conn.execute(table.delete())

    # -- usage analytics --
    def usage_rows(
        self,
        *,
        since: datetime,
        secret_id: str | None = None,
        client_id: str | None = None,
        per_secret: bool = False,
    ) -> list[UsageRow]:
        with self._connect() as conn:
            return usage_sql.read_rows(
                conn, since=since, secret_id=secret_id, client_id=client_id, per_secret=per_secret
            )

    def prune_usage(self, before: datetime) -> int:
        with self._write() as conn:
            return usage_sql.prune(conn, before)

    # -- dashboard queries --
    def search_clients(
        self,
        *,
        text: str | None = None,
        enabled: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Client], int]:
        with self._connect() as conn:
            rows, total = browse_sql.search_clients(
                conn, text=text, enabled=enabled, limit=limit, offset=offset
            )
        return [_client(row) for row in rows], total

    def count_active_secrets(self, now: datetime) -> int:
        with self._connect() as conn:
            return browse_sql.count_active_secrets(conn, now)

    def expiring_secrets(self, *, now: datetime, until: datetime, limit: int = 100) -> list[Secret]:
        with self._connect() as conn:
            found = self._secrets(conn, sa.and_(*browse_sql.expiring(now, until)))
        found.sort(key=lambda s: (s.secret.expires_at, s.secret.secret_id))
        return [s.secret for s in found[:limit]]

    def search_audit(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> list[AuditEvent]:
        with self._connect() as conn:
            return browse_sql.search_audit(
                conn,
                actor=actor,
                action=action,
                target_id=target_id,
                since=since,
                until=until,
                before_id=before_id,
                limit=limit,
            )
