"""The SQL store: SQLite (default, one node) and PostgreSQL (many nodes) via SQLAlchemy Core.

SQLite runs in WAL mode with ``synchronous=FULL``, so an issued secret is on disk
before ``issue_secret`` returns and readers (a running server) never block the writer
(the CLI).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError

from keyhive.core.audit_chain import SealedEvent
from keyhive.core.errors import (
    ClientNotFound,
    ConfigurationError,
    Conflict,
    IdTaken,
    SecretNotFound,
    StorageUnavailable,
)
from keyhive.core.model import AuditEvent, Client, Owner, Role, Secret, StoredSecret
from keyhive.core.portal import PortalSession
from keyhive.core.quotas import limits_to_json
from keyhive.core.scopes import ADMIN_GRANTS
from keyhive.core.usage import UsageRow
from keyhive.core.webhooks import Event, Webhook
from keyhive.storage import (
    audit_chain_sql,
    browse_sql,
    leaks_sql,
    lookup_sql,
    plans_sql,
    portal_sql,
    usage_sql,
    webhooks_sql,
)
from keyhive.storage import schema as t
from keyhive.storage._protocol import (
    CLIENT_FIELDS,
    SECRET_FIELDS,
    LookupRecord,
    Transaction,
    Usage,
)
from keyhive.storage.oauth_sql import SqlOAuthStore
from keyhive.storage.pinned import PinnedConnections
from keyhive.storage.webhooks_sql import SqlWebhookStore

_MIGRATIONS = Path(__file__).parent / "migrations"
_WRITE_FLAG = "keyhive_write"
#: Any constant: PostgreSQL advisory lock held while migrating, so nodes that start
#: together migrate one after the other instead of racing to create the same tables.
_MIGRATION_LOCK = 0x6B657968
#: Another constant: held by changes that could leave no admin secret (see lock_admins).
_ADMIN_LOCK = 0x6B680001
#: Alembic keeps its migration context in module globals: one migration per process at a time.
_ALEMBIC = threading.Lock()
#: Secrets locked by one statement of ``lock_secrets``.
_LOCK_CHUNK = 500


def _usage_update(*, metered: bool) -> Any:
    """The UPDATE a usage flush runs per secret, keyed by bind parameters (built once).

    last_used_at only moves forward and credits_used only grows within its period, so
    batches from several nodes may land in any order.
    """
    col = t.secrets.c
    at = sa.bindparam("u_at", type_=col.last_used_at.type)
    values: dict[str, Any] = {
        "usage_count": col.usage_count + sa.bindparam("u_count", type_=sa.Integer),
        "last_used_at": sa.case(
            (col.last_used_at.is_(None), at), (col.last_used_at < at, at), else_=col.last_used_at
        ),
    }
    if metered:
        period = sa.bindparam("u_period", type_=sa.String)
        used = sa.bindparam("u_used", type_=sa.Integer)
        same = col.credits_period == period
        values["credits_used"] = sa.case(
            (same & (col.credits_used > used), col.credits_used), else_=used
        )
        values["credits_period"] = period
    return t.secrets.update().where(col.secret_id == sa.bindparam("u_id")).values(**values)


_USAGE_UPDATE = _usage_update(metered=False)
_METERED_USAGE_UPDATE = _usage_update(metered=True)


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


_client = lookup_sql.client_from_row


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
        "rotated_from": secret.rotated_from,
        "legacy_id": secret.legacy_id,
        **_column_values({f: getattr(secret, f) for f in SECRET_FIELDS if f != "scopes"}),
    }


def _column_values(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Secret fields as column values (scopes and roles live in their own tables)."""
    values = dict(changes)
    values.pop("scopes", None)
    values.pop("roles", None)
    if "rate_limits" in values:
        values["rate_limits"] = limits_to_json(tuple(values["rate_limits"]))
    if "allowed_ips" in values:
        values["allowed_ips"] = list(values["allowed_ips"]) or None
    return values


def _read_secrets(conn: Connection, where: Any) -> list[StoredSecret]:
    rows = conn.execute(
        sa.select(t.secrets).where(where).order_by(t.secrets.c.created_at, t.secrets.c.secret_id)
    ).all()
    if not rows:
        return []
    ids = [row.secret_id for row in rows]
    scopes: dict[str, list[str]] = {}
    for sid, scope in conn.execute(
        sa.select(t.secret_scopes.c.secret_id, t.secret_scopes.c.scope).where(
            t.secret_scopes.c.secret_id.in_(ids)
        )
    ):
        scopes.setdefault(sid, []).append(scope)
    roles = plans_sql.secret_roles(conn, ids)
    return [lookup_sql.stored_secret(row, scopes, roles) for row in rows]


class _SqlTransaction:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._postgres = conn.dialect.name == "postgresql"

    def lock_client(self, client_id: str) -> Client | None:
        query = sa.select(t.clients).where(t.clients.c.client_id == client_id)
        row = self._c.execute(query.with_for_update()).first()
        return _client(row) if row else None

    def lock_secret(self, secret_id: str) -> StoredSecret | None:
        # FOR UPDATE on the secret row (PostgreSQL); its scope rows are read in the same
        # transaction and only written by holders of this lock.
        self._c.execute(
            sa.select(t.secrets.c.secret_id)
            .where(t.secrets.c.secret_id == secret_id)
            .with_for_update()
        )
        found = _read_secrets(self._c, t.secrets.c.secret_id == secret_id)
        return found[0] if found else None

    def lock_secrets(self, secret_ids: Sequence[str]) -> dict[str, StoredSecret]:
        # In id order, in chunks: two bulk lockers always queue rather than deadlock, and
        # no statement outgrows a driver's limit on bound parameters.
        ids = sorted(set(secret_ids))
        found: dict[str, StoredSecret] = {}
        col = t.secrets.c.secret_id
        for start in range(0, len(ids), _LOCK_CHUNK):
            chunk = ids[start : start + _LOCK_CHUNK]
            self._c.execute(sa.select(col).where(col.in_(chunk)).order_by(col).with_for_update())
            found.update((s.secret.secret_id, s) for s in _read_secrets(self._c, col.in_(chunk)))
        return found

    def patch_client(self, client_id: str, changes: Mapping[str, Any]) -> None:
        unknown = set(changes) - CLIENT_FIELDS
        if unknown:
            raise ValueError(f"not client fields: {sorted(unknown)}")
        values = dict(changes)
        if "metadata" in values:
            values["metadata"] = dict(values["metadata"])
        result = self._c.execute(
            t.clients.update().where(t.clients.c.client_id == client_id).values(**values)
        )
        if result.rowcount == 0:
            raise ClientNotFound(client_id)

    def patch_secret(self, secret_id: str, changes: Mapping[str, Any]) -> None:
        unknown = set(changes) - SECRET_FIELDS
        if unknown:
            raise ValueError(f"not secret fields: {sorted(unknown)}")
        values = _column_values(changes)
        if values:
            query = t.secrets.update().where(t.secrets.c.secret_id == secret_id)
            if "replaced_by" in values:
                query = query.where(t.secrets.c.replaced_by.is_(None))
            if self._c.execute(query.values(**values)).rowcount == 0:
                if "replaced_by" in values and self.lock_secret(secret_id) is not None:
                    raise Conflict("secret was already rotated")
                raise SecretNotFound(secret_id)
        elif self.lock_secret(secret_id) is None:
            raise SecretNotFound(secret_id)
        if "scopes" in changes:
            self._write_scopes(secret_id, tuple(changes["scopes"]))
        if "roles" in changes:
            plans_sql.write_secret_roles(self._c, secret_id, changes["roles"])

    def lock_admins(self) -> list[tuple[Secret, Client]]:
        if self._postgres:
            # One lock for every change that could remove an admin: they are rare.
            self._c.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADMIN_LOCK})
        ids = sa.select(t.secret_scopes.c.secret_id).where(
            t.secret_scopes.c.scope.in_(sorted(ADMIN_GRANTS))
        )
        secrets = _read_secrets(self._c, t.secrets.c.secret_id.in_(ids))
        client_ids = sorted({s.secret.client_id for s in secrets})
        rows = self._c.execute(sa.select(t.clients).where(t.clients.c.client_id.in_(client_ids)))
        clients = {row.client_id: _client(row) for row in rows}
        return [(s.secret, clients[s.secret.client_id]) for s in secrets]

    def insert_client(self, client: Client) -> None:
        try:
            with self._c.begin_nested():
                self._c.execute(t.clients.insert().values(**_client_values(client)))
        except IntegrityError:
            raise IdTaken("client_id exists") from None

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
                        digest=stored.digest,
                        usage_count=0,
                        credits_used=0,
                        **_secret_values(secret),
                    )
                )
        except IntegrityError:
            if secret.legacy_id is not None and self._legacy_taken(secret.legacy_id):
                taken = secret.legacy_id
                raise Conflict(f"a key with this prefix was imported already: {taken}") from None
            raise IdTaken("secret_id exists") from None
        self._write_scopes(secret.secret_id, secret.scopes)
        if secret.roles:
            plans_sql.write_secret_roles(self._c, secret.secret_id, secret.roles)

    def _legacy_taken(self, legacy_id: str) -> bool:
        query = sa.select(t.secrets.c.secret_id).where(t.secrets.c.legacy_id == legacy_id)
        return self._c.execute(query).first() is not None

    def _write_scopes(self, secret_id: str, scopes: tuple[str, ...]) -> None:
        self._c.execute(t.secret_scopes.delete().where(t.secret_scopes.c.secret_id == secret_id))
        if scopes:
            self._c.execute(
                t.secret_scopes.insert(),
                [{"secret_id": secret_id, "scope": s} for s in scopes],
            )

    def update_secret(self, secret: Secret) -> None:
        result = self._c.execute(
            t.secrets.update()
            .where(t.secrets.c.secret_id == secret.secret_id)
            .values(**_secret_values(secret))
        )
        if result.rowcount == 0:
            raise SecretNotFound(secret.secret_id)
        self._write_scopes(secret.secret_id, secret.scopes)
        plans_sql.write_secret_roles(self._c, secret.secret_id, secret.roles)

    def append_audit(self, event: AuditEvent) -> None:
        # Sealed into the tamper-evident chain; serialised across nodes (see audit_chain_sql).
        audit_chain_sql.append(self._c, event)

    # -- leaks (many secrets revoked at once) ------------------------------------------------
    def revoke_secrets(self, secrets: Sequence[Secret]) -> None:
        leaks_sql.revoke(self._c, secrets)

    # -- webhooks (the outbox) ---------------------------------------------------------------
    def webhook_subscriptions(self) -> list[Webhook]:
        return webhooks_sql.subscriptions(self._c)

    def enqueue_webhook_event(self, event: Event, webhook_ids: Sequence[str]) -> bool:
        return webhooks_sql.enqueue(self._c, event, webhook_ids)

    # -- plans (owners' limits, roles) -------------------------------------------------------
    def lock_owner(self, owner: str) -> Owner:
        return plans_sql.lock_owner(self._c, owner)

    def save_owner(self, owner: str, changes: Mapping[str, Any], at: datetime) -> None:
        plans_sql.save_owner(self._c, owner, changes, at)

    def lock_role(self, name: str) -> Role | None:
        return plans_sql.lock_role(self._c, name)

    def insert_role(self, role: Role) -> None:
        plans_sql.insert_role(self._c, role)

    def patch_role(self, name: str, changes: Mapping[str, Any], at: datetime) -> None:
        plans_sql.patch_role(self._c, name, changes, at)

    def delete_role(self, name: str, now: datetime) -> None:
        plans_sql.delete_role(self._c, name, now)

    # -- portal sessions -------------------------------------------------------------------
    def lock_owner_keys(self, owner: str) -> tuple[list[Client], list[Secret]]:
        portal_sql.take_owner_lock(self._c, owner)
        clients = [_client(row) for row in portal_sql.owner_clients(self._c, owner)]
        ids = [c.client_id for c in clients]
        found = _read_secrets(self._c, t.secrets.c.client_id.in_(ids)) if ids else []
        return clients, [s.secret for s in found]

    def insert_portal_session(self, session: PortalSession, code_digest: str) -> None:
        portal_sql.insert(self._c, session, code_digest)

    def claim_portal_code(self, code_digest: str, now: datetime) -> PortalSession | None:
        return portal_sql.claim(self._c, code_digest, now)

    def delete_portal_sessions(self, *, expired_before: datetime) -> int:
        return portal_sql.delete_expired(self._c, expired_before)


class SqlStore:
    """A Store on any SQLAlchemy URL keyhive supports (``sqlite:///``, ``postgresql+psycopg://``)."""

    #: Its contents outlive the process.
    ephemeral = False

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self._lookups: lookup_sql.LookupReader | None = None
        #: SQLite: each reading thread keeps a connection for first-verification reads.
        self._pinned = (
            PinnedConnections(self.engine) if self.engine.dialect.name == "sqlite" else None
        )
        self._oauth = SqlOAuthStore(self)
        self._webhooks = SqlWebhookStore(self)

    @functools.cached_property
    def local_reads(self) -> bool:
        """SQLite whose connections are really in WAL mode (asked once). Keyhive asks for
        WAL on every connection, but a file system without shared memory refuses it, and
        then a reader can wait on a writer's lock: such a store reads in a worker."""
        if self.engine.dialect.name != "sqlite":
            return False
        try:
            with self.engine.connect() as conn:
                mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        except sa.exc.DBAPIError:
            return False
        return str(mode).lower() == "wal"

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

    @staticmethod
    def head_revision() -> str:
        """The newest schema revision this version of keyhive migrates to."""
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        head = ScriptDirectory.from_config(config).get_current_head()
        assert head is not None
        return head

    def schema_version(self) -> str | None:
        """The Alembic revision the database is at (None before ``migrate``)."""
        with self._connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            row = conn.execute(sa.text("SELECT version_num FROM alembic_version")).first()
            return str(row[0]) if row else None

    def close(self) -> None:
        if self._pinned is not None:
            self._pinned.close()
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

    def get_secret(self, secret_id: str) -> StoredSecret | None:
        with self._connect() as conn:
            found = _read_secrets(conn, t.secrets.c.secret_id == secret_id)
        return found[0] if found else None

    def list_secrets(self, client_id: str) -> list[StoredSecret]:
        with self._connect() as conn:
            return _read_secrets(conn, t.secrets.c.client_id == client_id)

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

    def set_digest(self, secret_id: str, old: str | None, new: str) -> bool:
        col = t.secrets.c
        same = col.digest.is_(None) if old is None else col.digest == old
        with self._write() as conn:
            result = conn.execute(
                t.secrets.update().where(col.secret_id == secret_id, same).values(digest=new)
            )
        return bool(result.rowcount)

    def replace_hash(self, secret_id: str, old: str, new: str) -> bool:
        with self._write() as conn:
            result = conn.execute(
                t.secrets.update()
                .where(t.secrets.c.secret_id == secret_id, t.secrets.c.hash == old)
                .values(hash=new)
            )
        return bool(result.rowcount)

    def record_usage(self, usage: Mapping[str, Usage]) -> None:
        """One executemany per statement shape (sorted by secret id, so two nodes lock
        rows in the same order): a restarted node flushes a row for every secret it sees
        once, and building an UPDATE expression per row cost more than running it."""
        if not usage:
            return
        plain: list[dict[str, Any]] = []
        metered: list[dict[str, Any]] = []
        for secret_id, used in sorted(usage.items()):
            if used.last_used_at is None:
                continue  # refusals only: they count in the usage buckets alone
            row = {"u_id": secret_id, "u_count": used.count, "u_at": used.last_used_at}
            if used.credits_period is None:
                plain.append(row)
            else:
                metered.append(
                    {**row, "u_period": used.credits_period, "u_used": used.credits_used}
                )
        with self._write() as conn:
            if plain:
                conn.execute(_USAGE_UPDATE, plain)
            if metered:
                conn.execute(_METERED_USAGE_UPDATE, metered)
            usage_sql.add_buckets(conn, usage)

    def delete_all(self) -> None:
        with self._write() as conn:
            self._webhooks.clear(conn)
            for table in (
                t.usage_buckets,
                t.audit_events,
                t.secret_scopes,
                t.secret_roles,
                t.secrets,
                t.clients,
                t.roles,
                t.owners,
                t.portal_sessions,
                *_OAUTH_TABLES,
            ):
                conn.execute(table.delete())

    # -- leaks (many secrets checked at once) -----------------------------------------------
    def get_secrets(self, secret_ids: Sequence[str]) -> list[StoredSecret]:
        wanted = list(dict.fromkeys(secret_ids))
        found: list[StoredSecret] = []
        with self._connect() as conn:
            for chunk in leaks_sql.chunks(wanted):
                found.extend(_read_secrets(conn, t.secrets.c.secret_id.in_(chunk)))
        return found

    # -- audit chain (tamper-evident audit log) --------------------------------------------
    def audit_chain(self, *, after_id: int = 0, limit: int = 1000) -> list[SealedEvent]:
        with self._connect() as conn:
            return audit_chain_sql.read(conn, after_id=after_id, limit=limit)

    def audit_head(self) -> SealedEvent | None:
        with self._connect() as conn:
            return audit_chain_sql.head(conn)

    # -- oauth --
    @property
    def oauth(self) -> SqlOAuthStore:
        return self._oauth

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
            found = _read_secrets(conn, sa.and_(*browse_sql.expiring(now, until)))
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

    # -- webhooks --------------------------------------------------------------------------
    @property
    def webhooks(self) -> SqlWebhookStore:
        return self._webhooks

    # -- plans (owners' limits, roles, imported keys) ------------------------------------------
    def get_owner(self, owner: str) -> Owner | None:
        with self._connect() as conn:
            return plans_sql.get_owner(conn, owner)

    def get_roles(self, names: Sequence[str]) -> dict[str, Role]:
        with self._connect() as conn:
            return plans_sql.get_roles(conn, names)

    def list_roles(self) -> list[Role]:
        with self._connect() as conn:
            return plans_sql.list_roles(conn)

    def read_lookup(self, kind: str, ident: str) -> LookupRecord:
        """On a DBAPI connection itself (see storage/lookup_sql.py for why): on SQLite
        this thread's own (storage/pinned.py), else one from the pool.

        SQLAlchemy is not there to translate the driver's errors, so this does what it
        would: a dropped connection is invalidated rather than pooled again (a thread's
        own is closed), and a database that cannot answer raises StorageUnavailable
        like every other read.
        """
        reader = self._lookups
        if reader is None:
            reader = self._lookups = lookup_sql.LookupReader(self.engine.dialect)
        dbapi = self.engine.dialect.loaded_dbapi
        pinned = self._pinned
        try:
            own = pinned.get() if pinned is not None else None
            connection = own if own is not None else self.engine.raw_connection()
        except (OperationalError, dbapi.OperationalError) as exc:
            cause = exc.orig if isinstance(exc, OperationalError) else exc
            raise StorageUnavailable(f"database unavailable: {type(cause).__name__}") from None
        try:
            return reader.read(connection, kind, ident)
        except dbapi.Error as exc:
            if own is not None:
                assert pinned is not None
                pinned.drop()  # the next read opens a fresh connection
            elif self.engine.dialect.is_disconnect(exc, connection.dbapi_connection, None):
                connection.invalidate(exc)
            if isinstance(exc, dbapi.OperationalError):
                raise StorageUnavailable(f"database unavailable: {type(exc).__name__}") from None
            raise
        finally:
            if own is None:
                connection.close()

    def get_legacy(self, legacy_id: str) -> StoredSecret | None:
        with self._connect() as conn:
            found = _read_secrets(conn, t.secrets.c.legacy_id == legacy_id)
        return found[0] if found else None

    def record_owner_usage(self, usage: Mapping[str, tuple[str, int]]) -> None:
        if usage:
            with self._write() as conn:
                plans_sql.record_owner_usage(conn, usage)

    # -- portal sessions -------------------------------------------------------------------
    def get_portal_session(self, session_id: str) -> PortalSession | None:
        with self._connect() as conn:
            return portal_sql.get(conn, session_id)


_OAUTH_TABLES = (t.oauth_signing_keys, t.oauth_revoked_tokens)
