"""The in-memory WebhookStore, kept in a MemoryStore's state (its lock, its rollback)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from keyhive.core.model import AuditEvent, Secret
from keyhive.core.webhooks import DELIVERED, FAILED, ONCE, PENDING, Delivery, Event, Webhook
from keyhive.storage.webhooks import Attempt, Claimed, WebhookRecord

if TYPE_CHECKING:
    from keyhive.storage.memory import MemoryStore, _State


@dataclass(frozen=True, slots=True)
class Row:
    """A delivery with its lease."""

    delivery: Delivery
    lease_owner: str | None = None
    lease_until: datetime | None = None


def subscriptions(state: _State) -> list[Webhook]:
    return [r.webhook for r in state.webhooks.values() if r.webhook.enabled]


def enqueue(state: _State, event: Event, webhook_ids: Sequence[str]) -> bool:
    if event.period is not None:
        key = (event.type, event.subject, event.period)
        if key in state.webhook_keys:
            return False
        state.webhook_keys.add(key)
    state.webhook_events[event.event_id] = event
    for ident in dict.fromkeys(webhook_ids):
        state.webhook_next += 1
        number = state.webhook_next
        state.webhook_deliveries[number] = Row(
            Delivery(
                delivery_id=number,
                event_id=event.event_id,
                webhook_id=ident,
                type=event.type,
                status=PENDING,
                attempts=0,
                created_at=event.at,
                next_attempt_at=event.at,
            )
        )
    return True


class MemoryWebhookStore:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    @property
    def _s(self) -> _State:
        return self._store._state

    def add(self, record: WebhookRecord, event: AuditEvent) -> None:
        with self._store.transaction() as tx:
            self._s.webhooks[record.webhook.webhook_id] = record
            tx.append_audit(event)

    def all(self) -> list[WebhookRecord]:
        with self._store._lock:
            found = list(self._s.webhooks.values())
        return sorted(found, key=lambda r: (r.webhook.created_at, r.webhook.webhook_id))

    def get(self, webhook_id: str) -> WebhookRecord | None:
        return self._s.webhooks.get(webhook_id)

    def remove(self, webhook_id: str, event: AuditEvent) -> bool:
        with self._store.transaction() as tx:
            if self._s.webhooks.pop(webhook_id, None) is None:
                return False
            rows = self._s.webhook_deliveries
            for number in [n for n, r in rows.items() if r.delivery.webhook_id == webhook_id]:
                del rows[number]
            tx.append_audit(event)
        return True

    def disable(self, webhook_id: str, at: datetime, reason: str, event: AuditEvent) -> bool:
        with self._store.transaction() as tx:
            record = self._s.webhooks.get(webhook_id)
            if record is None or not record.webhook.enabled:
                return False
            hook = dataclasses.replace(
                record.webhook, enabled=False, disabled_at=at, disabled_reason=reason
            )
            self._s.webhooks[webhook_id] = dataclasses.replace(record, webhook=hook)
            tx.append_audit(event)
        return True

    def deliveries(
        self, webhook_id: str, *, limit: int = 100, before: int | None = None
    ) -> list[Delivery]:
        with self._store._lock:
            rows = [
                r.delivery
                for n, r in self._s.webhook_deliveries.items()
                if r.delivery.webhook_id == webhook_id and (before is None or n < before)
            ]
        return sorted(rows, key=lambda d: -d.delivery_id)[:limit]

    def _due(self, now: datetime) -> list[Row]:
        hooks = self._s.webhooks
        busy = {
            row.delivery.webhook_id
            for row in self._s.webhook_deliveries.values()
            if row.delivery.status == PENDING
            and row.lease_until is not None
            and row.lease_until >= now
        }
        return [
            row
            for _n, row in sorted(self._s.webhook_deliveries.items())
            if row.delivery.status == PENDING
            and row.delivery.next_attempt_at is not None
            and row.delivery.next_attempt_at <= now
            and (row.lease_until is None or row.lease_until < now)
            and row.delivery.webhook_id in hooks
            and hooks[row.delivery.webhook_id].webhook.enabled
            and row.delivery.webhook_id not in busy
        ]

    def due(self, now: datetime) -> bool:
        with self._store._lock:
            return bool(self._due(now))

    def claim(self, now: datetime, owner: str, limit: int, lease_until: datetime) -> list[Claimed]:
        with self._store._lock:
            firsts: dict[str, Row] = {}
            for row in self._due(now):
                firsts.setdefault(row.delivery.webhook_id, row)
            chosen = sorted(firsts.values(), key=lambda r: r.delivery.delivery_id)[:limit]
            claimed = []
            for row in chosen:
                number = row.delivery.delivery_id
                self._s.webhook_deliveries[number] = dataclasses.replace(
                    row, lease_owner=owner, lease_until=lease_until
                )
                claimed.append(
                    Claimed(
                        row.delivery,
                        self._s.webhook_events[row.delivery.event_id],
                        self._s.webhooks[row.delivery.webhook_id],
                    )
                )
            return claimed

    def finish(
        self, delivery_id: int, owner: str, attempt: Attempt
    ) -> tuple[bool, datetime | None]:
        with self._store._lock:
            row = self._s.webhook_deliveries.get(delivery_id)
            if row is None or row.lease_owner != owner:
                return False, None
            delivery = dataclasses.replace(
                row.delivery,
                attempts=row.delivery.attempts + 1,
                status=attempt.status,
                next_attempt_at=attempt.next_attempt_at,
                last_attempt_at=attempt.at,
                last_status=attempt.http_status,
                last_error=attempt.error,
                response_excerpt=attempt.excerpt,
                delivered_at=attempt.at if attempt.status == DELIVERED else None,
            )
            self._s.webhook_deliveries[delivery_id] = Row(delivery)
            record = self._s.webhooks.get(delivery.webhook_id)
            if record is None:
                return True, None
            since = None if attempt.ok else (record.failing_since or attempt.at)
            self._s.webhooks[delivery.webhook_id] = dataclasses.replace(record, failing_since=since)
            return True, since

    def release(self, owner: str) -> None:
        with self._store._lock:
            rows = self._s.webhook_deliveries
            for number, row in list(rows.items()):
                if row.lease_owner == owner:
                    rows[number] = Row(row.delivery)

    def expiring(
        self, event_type: str, after: datetime, until: datetime, limit: int
    ) -> list[Secret]:
        with self._store._lock:
            found = [
                s.secret
                for s in self._s.secrets.values()
                if s.secret.expires_at is not None
                and after < s.secret.expires_at <= until
                and s.secret.revoked_at is None
                and s.secret.replaced_by is None
                and (event_type, s.secret.secret_id, ONCE) not in self._s.webhook_keys
            ]
        found.sort(key=lambda s: (s.expires_at, s.secret_id))
        return found[:limit]

    def purge(self, before: datetime) -> int:
        with self._store._lock:
            rows = self._s.webhook_deliveries
            gone = [
                n
                for n, r in rows.items()
                if (r.delivery.status in (DELIVERED, FAILED) and r.delivery.created_at < before)
                or r.delivery.webhook_id not in self._s.webhooks
            ]
            for number in gone:
                del rows[number]
            needed = {r.delivery.event_id for r in rows.values()}
            unused = [
                i for i, e in self._s.webhook_events.items() if e.at < before and i not in needed
            ]
            for ident in unused:
                event = self._s.webhook_events.pop(ident)
                self._s.webhook_keys.discard((event.type, event.subject, event.period))
            return len(gone) + len(unused)
