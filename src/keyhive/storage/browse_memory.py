"""Queries for browsing in memory: the reference behaviour of :mod:`browse_sql`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from keyhive.core.model import AuditEvent, Client, Secret


def search_clients(
    clients: Iterable[Client], *, text: str | None, enabled: bool | None, limit: int, offset: int
) -> tuple[list[Client], int]:
    needle = text.lower() if text else None
    found = [
        c
        for c in clients
        if (enabled is None or c.enabled is enabled)
        and (
            needle is None
            or any(needle in (v or "").lower() for v in (c.name, c.owner, c.client_id))
        )
    ]
    found.sort(key=lambda c: (c.name, c.client_id))
    return found[offset : offset + limit], len(found)


def is_live(secret: Secret, now: datetime) -> bool:
    return not secret.is_revoked(now) and not secret.is_expired(now)


def expiring_secrets(
    secrets: Iterable[Secret], *, now: datetime, until: datetime, limit: int
) -> list[Secret]:
    found = [
        s for s in secrets if is_live(s, now) and s.expires_at is not None and s.expires_at <= until
    ]
    found.sort(key=lambda s: (s.expires_at, s.secret_id))
    return found[:limit]


def search_audit(
    events: Iterable[AuditEvent],
    *,
    actor: str | None,
    action: str | None,
    target_id: str | None,
    since: datetime | None,
    until: datetime | None,
    before_id: int | None,
    limit: int,
) -> list[AuditEvent]:
    found = [
        e
        for e in events
        if (actor is None or e.actor == actor)
        and (action is None or e.action == action)
        and (target_id is None or e.target_id == target_id)
        and (since is None or e.at >= since)
        and (until is None or e.at < until)
        and (before_id is None or (e.id is not None and e.id < before_id))
    ]
    found.sort(key=lambda e: e.id or 0, reverse=True)
    return found[:limit]
