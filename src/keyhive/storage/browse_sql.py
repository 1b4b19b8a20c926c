"""Queries for browsing in SQL (the dashboard's): client search, counts, expiring secrets
and audit filters. Each takes a connection and returns plain values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from keyhive.core.model import AuditEvent
from keyhive.storage import schema as t


def like_pattern(text: str) -> str:
    """A case-folded LIKE pattern matching ``text`` anywhere, its wildcards escaped."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def client_filter(text: str | None, enabled: bool | None) -> list[Any]:
    """WHERE terms for a search by name, owner or id and an enabled filter."""
    c = t.clients.c
    terms: list[Any] = []
    if text:
        pattern = like_pattern(text)
        columns = (c.name, c.owner, c.client_id)
        terms.append(sa.or_(*(sa.func.lower(col).like(pattern, escape="\\") for col in columns)))
    if enabled is not None:
        terms.append(c.enabled.is_(enabled))
    return terms


def search_clients(
    conn: Connection, *, text: str | None, enabled: bool | None, limit: int, offset: int
) -> tuple[list[Any], int]:
    """Rows of the matching clients (by name, then id) and how many match in all."""
    terms = client_filter(text, enabled)
    c = t.clients.c
    rows = conn.execute(
        sa.select(t.clients).where(*terms).order_by(c.name, c.client_id).limit(limit).offset(offset)
    ).all()
    total = conn.execute(sa.select(sa.func.count()).select_from(t.clients).where(*terms)).scalar()
    return list(rows), int(total or 0)


def live_secret(now: datetime) -> list[Any]:
    """WHERE terms for a secret that is neither revoked nor expired at ``now``."""
    s = t.secrets.c
    return [
        sa.or_(s.revoked_at.is_(None), s.revoked_at > now),
        sa.or_(s.expires_at.is_(None), s.expires_at > now),
    ]


def count_active_secrets(conn: Connection, now: datetime) -> int:
    query = sa.select(sa.func.count()).select_from(t.secrets).where(*live_secret(now))
    return int(conn.execute(query).scalar() or 0)


def expiring(now: datetime, until: datetime) -> list[Any]:
    """WHERE terms for a live secret whose expiry falls after ``now``, by ``until``."""
    s = t.secrets.c
    return [*live_secret(now), s.expires_at.is_not(None), s.expires_at <= until]


def search_audit(
    conn: Connection,
    *,
    actor: str | None,
    action: str | None,
    target_id: str | None,
    since: datetime | None,
    until: datetime | None,
    before_id: int | None,
    limit: int,
) -> list[AuditEvent]:
    """Matching audit events, newest first; ``before_id`` pages back."""
    a = t.audit_events.c
    terms: list[Any] = []
    if actor is not None:
        terms.append(a.actor == actor)
    if action is not None:
        terms.append(a.action == action)
    if target_id is not None:
        terms.append(a.target_id == target_id)
    if since is not None:
        terms.append(a.at >= since)
    if until is not None:
        terms.append(a.at < until)
    if before_id is not None:
        terms.append(a.id < before_id)
    query = sa.select(t.audit_events).where(*terms).order_by(a.id.desc()).limit(limit)
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
