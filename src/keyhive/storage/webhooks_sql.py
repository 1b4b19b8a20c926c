"""The SQL WebhookStore (SQLite and PostgreSQL), on the connections of a SqlStore.

The outbox writes (:func:`subscriptions`, :func:`enqueue`) run on the connection of the
transaction that makes the change; the rest are the sender's and the admin API's own
short transactions. See :mod:`keyhive.storage.webhooks` for how claiming works.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from keyhive.core.model import AuditEvent, Secret
from keyhive.core.webhooks import DELIVERED, FAILED, ONCE, PENDING, Delivery, Event, Webhook
from keyhive.storage import schema as t
from keyhive.storage.webhooks import Attempt, Claimed, WebhookRecord

if TYPE_CHECKING:
    from keyhive.storage.sql import SqlStore

_hooks = t.webhooks
_events = t.webhook_events
_deliveries = t.webhook_deliveries
#: How many due rows one claim looks at to find the oldest of each endpoint.
_SCAN: Final = 4


def _record(row: Any) -> WebhookRecord:
    return WebhookRecord(
        Webhook(
            webhook_id=row.webhook_id,
            url=row.url,
            events=tuple(row.events),
            description=row.description,
            enabled=bool(row.enabled),
            created_at=row.created_at,
            disabled_at=row.disabled_at,
            disabled_reason=row.disabled_reason,
        ),
        secret_sealed=row.secret_sealed,
        server_key_id=row.server_key_id,
        failing_since=row.failing_since,
    )


def _delivery(row: Any, event_type: str) -> Delivery:
    return Delivery(
        delivery_id=row.id,
        event_id=row.event_id,
        webhook_id=row.webhook_id,
        type=event_type,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        last_attempt_at=row.last_attempt_at,
        last_status=row.last_status,
        last_error=row.last_error,
        response_excerpt=row.response_excerpt,
        delivered_at=row.delivered_at,
    )


def _event(row: Any) -> Event:
    return Event(
        event_id=row.event_id,
        type=row.type,
        at=row.at,
        data=dict(row.data),
        subject=row.subject,
        period=row.period,
    )


# -- the outbox, inside the change's own transaction -----------------------------------------
def subscriptions(conn: Connection) -> list[Webhook]:
    rows = conn.execute(sa.select(_hooks).where(_hooks.c.enabled.is_(True)))
    return [_record(row).webhook for row in rows]


def enqueue(conn: Connection, event: Event, webhook_ids: Sequence[str]) -> bool:
    """Insert the event and its deliveries; False (nothing written) if it exists."""
    values = {
        "event_id": event.event_id,
        "type": event.type,
        "subject": event.subject,
        "period": event.period,
        "at": event.at,
        "data": dict(event.data),
    }
    if event.period is not None:
        try:
            with conn.begin_nested():
                conn.execute(_events.insert().values(**values))
        except IntegrityError:
            return False
    else:
        conn.execute(_events.insert().values(**values))
    if webhook_ids:
        conn.execute(
            _deliveries.insert(),
            [
                {
                    "event_id": event.event_id,
                    "webhook_id": ident,
                    "status": PENDING,
                    "attempts": 0,
                    "created_at": event.at,
                    "next_attempt_at": event.at,
                }
                for ident in dict.fromkeys(webhook_ids)
            ],
        )
    return True


class SqlWebhookStore:
    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def _append_audit(self, conn: Connection, event: AuditEvent) -> None:
        from keyhive.storage import audit_chain_sql

        audit_chain_sql.append(conn, event)

    # -- endpoints ---------------------------------------------------------------------------
    def add(self, record: WebhookRecord, event: AuditEvent) -> None:
        hook = record.webhook
        with self._store._write() as conn:
            conn.execute(
                _hooks.insert().values(
                    webhook_id=hook.webhook_id,
                    url=hook.url,
                    events=list(hook.events),
                    description=hook.description,
                    secret_sealed=record.secret_sealed,
                    server_key_id=record.server_key_id,
                    enabled=hook.enabled,
                    created_at=hook.created_at,
                )
            )
            self._append_audit(conn, event)

    def all(self) -> list[WebhookRecord]:
        query = sa.select(_hooks).order_by(_hooks.c.created_at, _hooks.c.webhook_id)
        with self._store._connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def get(self, webhook_id: str) -> WebhookRecord | None:
        with self._store._connect() as conn:
            row = conn.execute(sa.select(_hooks).where(_hooks.c.webhook_id == webhook_id)).first()
        return _record(row) if row is not None else None

    def remove(self, webhook_id: str, event: AuditEvent) -> bool:
        with self._store._write() as conn:
            gone = conn.execute(_hooks.delete().where(_hooks.c.webhook_id == webhook_id))
            if not gone.rowcount:
                return False
            conn.execute(_deliveries.delete().where(_deliveries.c.webhook_id == webhook_id))
            self._append_audit(conn, event)
        return True

    def disable(self, webhook_id: str, at: datetime, reason: str, event: AuditEvent) -> bool:
        with self._store._write() as conn:
            done = conn.execute(
                _hooks.update()
                .where(_hooks.c.webhook_id == webhook_id, _hooks.c.enabled.is_(True))
                .values(enabled=False, disabled_at=at, disabled_reason=reason)
            )
            if not done.rowcount:
                return False
            self._append_audit(conn, event)
        return True

    def deliveries(
        self, webhook_id: str, *, limit: int = 100, before: int | None = None
    ) -> list[Delivery]:
        d = _deliveries.c
        query = (
            sa.select(_deliveries, _events.c.type)
            .join(_events, _events.c.event_id == d.event_id)
            .where(d.webhook_id == webhook_id)
            .order_by(d.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(d.id < before)
        with self._store._connect() as conn:
            return [_delivery(row, row.type) for row in conn.execute(query)]

    # -- the sender --------------------------------------------------------------------------
    def _due_query(self, now: datetime) -> Any:
        """Due deliveries of enabled endpoints that have none in flight (leased)."""
        d = _deliveries.c
        other = _deliveries.alias("in_flight")
        busy = sa.select(other.c.id).where(
            other.c.webhook_id == d.webhook_id,
            other.c.status == PENDING,
            other.c.lease_until >= now,
        )
        return (
            sa.select(d.id, d.webhook_id)
            .join(_hooks, _hooks.c.webhook_id == d.webhook_id)
            .where(
                d.status == PENDING,
                d.next_attempt_at <= now,
                sa.or_(d.lease_until.is_(None), d.lease_until < now),
                _hooks.c.enabled.is_(True),
                ~sa.exists(busy),
            )
        )

    def due(self, now: datetime) -> bool:
        with self._store._connect() as conn:
            return conn.execute(self._due_query(now).limit(1)).first() is not None

    def claim(self, now: datetime, owner: str, limit: int, lease_until: datetime) -> list[Claimed]:
        d = _deliveries.c
        with self._store._write() as conn:
            # The oldest due delivery of each endpoint, read without locks; then only
            # those are locked, skipping any another sender locked meanwhile.
            firsts: dict[str, int] = {}
            scan = self._due_query(now).order_by(d.id).limit(limit * _SCAN)
            for row in conn.execute(scan):
                firsts.setdefault(row.webhook_id, row.id)
            if not firsts:
                return []
            locking = (
                sa.select(d.id)
                .where(
                    d.id.in_(sorted(firsts.values())),
                    d.status == PENDING,
                    sa.or_(d.lease_until.is_(None), d.lease_until < now),
                )
                .order_by(d.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            ids = [row.id for row in conn.execute(locking)]
            if not ids:
                return []
            conn.execute(
                _deliveries.update()
                .where(d.id.in_(ids))
                .values(lease_owner=owner, lease_until=lease_until)
            )
            rows = conn.execute(sa.select(_deliveries).where(d.id.in_(ids)).order_by(d.id)).all()
            event_ids = sorted({row.event_id for row in rows})
            events = {
                row.event_id: _event(row)
                for row in conn.execute(sa.select(_events).where(_events.c.event_id.in_(event_ids)))
            }
            hook_ids = sorted({row.webhook_id for row in rows})
            hooks = {
                row.webhook_id: _record(row)
                for row in conn.execute(sa.select(_hooks).where(_hooks.c.webhook_id.in_(hook_ids)))
            }
        return [
            Claimed(
                _delivery(row, events[row.event_id].type),
                events[row.event_id],
                hooks[row.webhook_id],
            )
            for row in rows
        ]

    def finish(
        self, delivery_id: int, owner: str, attempt: Attempt
    ) -> tuple[bool, datetime | None]:
        d = _deliveries.c
        with self._store._write() as conn:
            row = conn.execute(
                sa.select(d.webhook_id).where(d.id == delivery_id, d.lease_owner == owner)
            ).first()
            if row is None:
                return False, None
            conn.execute(
                _deliveries.update()
                .where(d.id == delivery_id)
                .values(
                    attempts=d.attempts + 1,
                    status=attempt.status,
                    next_attempt_at=attempt.next_attempt_at,
                    last_attempt_at=attempt.at,
                    last_status=attempt.http_status,
                    last_error=attempt.error,
                    response_excerpt=attempt.excerpt,
                    delivered_at=attempt.at if attempt.status == DELIVERED else None,
                    lease_owner=None,
                    lease_until=None,
                )
            )
            hook = _hooks.c
            at = sa.literal(attempt.at, type_=t.UTCDateTime())
            failing = None if attempt.ok else sa.func.coalesce(hook.failing_since, at)
            conn.execute(
                _hooks.update()
                .where(hook.webhook_id == row.webhook_id)
                .values(failing_since=failing)
            )
            since = conn.execute(
                sa.select(hook.failing_since).where(hook.webhook_id == row.webhook_id)
            ).scalar()
        return True, since if isinstance(since, datetime) else None

    def release(self, owner: str) -> None:
        d = _deliveries.c
        with self._store._write() as conn:
            conn.execute(
                _deliveries.update()
                .where(d.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    def expiring(
        self, event_type: str, after: datetime, until: datetime, limit: int
    ) -> list[Secret]:
        from keyhive.storage.sql import _read_secrets

        s = t.secrets.c
        sent = sa.select(_events.c.event_id).where(
            _events.c.type == event_type,
            _events.c.subject == s.secret_id,
            _events.c.period == ONCE,
        )
        ids = (
            sa.select(s.secret_id)
            .where(
                s.expires_at > after,
                s.expires_at <= until,
                s.revoked_at.is_(None),
                s.replaced_by.is_(None),
                ~sa.exists(sent),
            )
            .order_by(s.expires_at)
            .limit(limit)
        )
        with self._store._connect() as conn:
            wanted = [row.secret_id for row in conn.execute(ids)]
            if not wanted:
                return []
            found = _read_secrets(conn, s.secret_id.in_(wanted))
        return sorted((f.secret for f in found), key=lambda x: (x.expires_at, x.secret_id))

    def purge(self, before: datetime) -> int:
        d = _deliveries.c
        with self._store._write() as conn:
            finished = conn.execute(
                _deliveries.delete().where(
                    sa.or_(
                        sa.and_(d.status.in_((DELIVERED, FAILED)), d.created_at < before),
                        ~d.webhook_id.in_(sa.select(_hooks.c.webhook_id)),
                    )
                )
            ).rowcount
            unused = conn.execute(
                _events.delete().where(
                    _events.c.at < before,
                    ~_events.c.event_id.in_(sa.select(d.event_id)),
                )
            ).rowcount
        return int(finished or 0) + int(unused or 0)

    def clear(self, conn: Connection) -> None:
        for table in (_deliveries, _events, _hooks):
            conn.execute(table.delete())
