"""The audit chain on SQL: appending one sealed event at a time, and reading events back.

Appends must see the newest event before them, across every node. On PostgreSQL a
transaction-scoped advisory lock serialises appenders from the moment the previous
hash is read until the appending transaction ends (under READ COMMITTED, which gives
each statement a fresh snapshot, the read after the lock sees every earlier commit);
ids are then taken in chain order too. On SQLite the write transaction (BEGIN
IMMEDIATE) already excludes every other writer.

To stay clear of deadlocks a transaction appends its audit events after its other
writes: one holding the lock then never waits for a row another appender holds.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from keyhive.core.audit_chain import SealedEvent, seal
from keyhive.core.model import AuditEvent
from keyhive.storage import schema as t

#: Any constant distinct from the migration lock: "khau".
AUDIT_LOCK: Final = 0x6B686175
#: conn.info key: the chain's last (id, hash) as this transaction left it.
_LAST: Final = "keyhive_audit_chain_last"
_events = t.audit_events
_INSERT: Final = _events.insert()


def _stored_form(value: Any) -> Any:
    """A JSON value as the database gives it back (tuples become lists, and so on)."""
    if value is None:
        return None
    return json.loads(json.dumps(value, allow_nan=False))


def append(conn: Connection, event: AuditEvent) -> None:
    """Insert ``event`` with its hash over its content and the previous event's hash.

    The id is chosen before the insert, so the row is written whole, hash included:
    on SQLite the next rowid (what SQLite itself would pick), on PostgreSQL the next
    value of the id sequence, taken under the lock.
    """
    last_id, prev_hash = _last(conn)
    if conn.dialect.name == "postgresql":
        ident = int(conn.execute(sa.text(_NEXTVAL)).scalar_one())
    else:
        ident = last_id + 1
    stored = dataclasses.replace(
        event, id=ident, before=_stored_form(event.before), after=_stored_form(event.after)
    )
    digest = seal(stored, prev_hash)
    conn.execute(
        _INSERT,
        {
            "id": ident,
            "at": stored.at,
            "actor": stored.actor,
            "action": stored.action,
            "target_type": stored.target_type,
            "target_id": stored.target_id,
            "before": stored.before,
            "after": stored.after,
            "hash": digest,
            "prev_hash": prev_hash,
        },
    )
    conn.info[_LAST] = (_scope(conn), ident, digest)


_NEXTVAL: Final = "SELECT nextval(pg_get_serial_sequence('audit_events', 'id'))"


def _scope(conn: Connection) -> tuple[object, object]:
    """The (transaction, savepoint) now open: a remembered head is good only inside it."""
    return conn.get_transaction(), conn.get_nested_transaction()


def _last(conn: Connection) -> tuple[int, str | None]:
    """The newest event's id and hash, locking the chain first (once per transaction)."""
    remembered = conn.info.get(_LAST)
    if remembered is not None:
        (root, nested), ident, digest = remembered
        now_root, now_nested = _scope(conn)
        if root is now_root and nested is now_nested and root is not None:
            return ident, digest
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK})
    row = conn.execute(
        sa.select(_events.c.id, _events.c.hash).order_by(_events.c.id.desc()).limit(1)
    ).first()
    return (int(row.id), row.hash) if row is not None else (0, None)


def _sealed(row: Any) -> SealedEvent:
    event = AuditEvent(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        before=row.before,
        after=row.after,
    )
    return SealedEvent(event, row.hash, row.prev_hash)


def read(conn: Connection, *, after_id: int, limit: int) -> list[SealedEvent]:
    """Events with their hashes, in order of id, after ``after_id``."""
    query = sa.select(_events).where(_events.c.id > after_id).order_by(_events.c.id).limit(limit)
    return [_sealed(row) for row in conn.execute(query)]


def head(conn: Connection) -> SealedEvent | None:
    """The newest event, with its hash."""
    row = conn.execute(sa.select(_events).order_by(_events.c.id.desc()).limit(1)).first()
    return _sealed(row) if row is not None else None
