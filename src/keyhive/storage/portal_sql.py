"""Portal sessions in SQL (SQLite and PostgreSQL), on a SqlStore's connections.

A code is claimed with one conditional UPDATE (``opened_at IS NULL`` and unexpired):
of two requests racing with the same link, the database lets exactly one change the
row. Portal writes for one owner serialise on :func:`take_owner_lock`: a PostgreSQL
transaction-scoped advisory lock keyed by the owner (SQLite's write transaction
already excludes every other writer).
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from keyhive.core.errors import IdTaken
from keyhive.core.portal import PortalSession
from keyhive.storage import schema as t

#: The first key of the two-key advisory lock: this lock's namespace (any constant).
_OWNER_LOCKS: Final = 0x6B68_0002


def _session(row: Any) -> PortalSession:
    return PortalSession(
        session_id=row.session_id,
        owner=row.owner,
        allowed_scopes=tuple(row.allowed_scopes),
        max_secrets=row.max_secrets,
        return_url=row.return_url,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        opened_at=row.opened_at,
    )


def take_owner_lock(conn: Connection, owner: str) -> None:
    """Wait for, then hold until commit, the lock of ``owner`` (PostgreSQL only).

    The second key is a 32-bit hash of the owner: two owners sharing one only wait for
    each other, which is harmless.
    """
    if conn.dialect.name != "postgresql":
        return
    key = zlib.crc32(owner.encode("utf-8"))
    signed = key - 2**32 if key >= 2**31 else key
    conn.execute(
        sa.text("SELECT pg_advisory_xact_lock(:space, :key)"),
        {"space": _OWNER_LOCKS, "key": signed},
    )


def insert(conn: Connection, session: PortalSession, code_digest: str) -> None:
    try:
        with conn.begin_nested():
            conn.execute(
                t.portal_sessions.insert().values(
                    session_id=session.session_id,
                    code_digest=code_digest,
                    owner=session.owner,
                    allowed_scopes=list(session.allowed_scopes),
                    max_secrets=session.max_secrets,
                    return_url=session.return_url,
                    created_by=session.created_by,
                    created_at=session.created_at,
                    expires_at=session.expires_at,
                    opened_at=session.opened_at,
                )
            )
    except IntegrityError:
        raise IdTaken("portal session exists") from None


def claim(conn: Connection, code_digest: str, now: datetime) -> PortalSession | None:
    table = t.portal_sessions
    col = table.c
    claimed = conn.execute(
        table.update()
        .where(col.code_digest == code_digest, col.opened_at.is_(None), col.expires_at > now)
        .values(opened_at=now)
    )
    if claimed.rowcount != 1:
        return None
    row = conn.execute(sa.select(table).where(col.code_digest == code_digest)).first()
    return _session(row) if row is not None else None


def get(conn: Connection, session_id: str) -> PortalSession | None:
    table = t.portal_sessions
    row = conn.execute(sa.select(table).where(table.c.session_id == session_id)).first()
    return _session(row) if row is not None else None


def delete_expired(conn: Connection, before: datetime) -> int:
    table = t.portal_sessions
    result = conn.execute(table.delete().where(table.c.expires_at < before))
    return int(result.rowcount or 0)


def owner_clients(conn: Connection, owner: str) -> list[Any]:
    """The rows of the owner's clients, by client_id."""
    query = sa.select(t.clients).where(t.clients.c.owner == owner).order_by(t.clients.c.client_id)
    return list(conn.execute(query))
