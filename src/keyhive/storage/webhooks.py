"""What webhooks need from a database: endpoints, the outbox of events, and deliveries.

Every Store offers this as ``store.webhooks`` (memory: :mod:`.webhooks_memory`, SQL:
:mod:`.webhooks_sql`). Events enter the outbox through the Transaction of the change
that causes them (``Transaction.enqueue_webhook_event``), so an event exists exactly when
its change committed. Each event is one row, fanned out when it is written to one
delivery row per subscribed endpoint: the unit that is claimed, retried, given up on
and listed.

Claiming: a sender takes due deliveries with a lease (``lease_owner``, ``lease_until``)
in a short write transaction, on PostgreSQL with ``FOR UPDATE SKIP LOCKED`` so senders
on many nodes pass over each other's rows instead of waiting; on SQLite the write lock
already admits one claimer at a time. An endpoint with a delivery in flight gets no
other until that one is recorded: one request at a time per endpoint. The HTTP request
runs outside any transaction; a sender that dies leaves a lease that expires, and the
delivery is sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from keyhive.core.model import AuditEvent, Secret
from keyhive.core.webhooks import Delivery, Event, Webhook


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    """An endpoint as stored: its signing secret only sealed under a server key."""

    webhook: Webhook
    secret_sealed: str = field(repr=False)
    server_key_id: str
    #: The first failure since the last success (None: the last attempt succeeded).
    failing_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery leased to one sender, with what it needs to send it."""

    delivery: Delivery
    event: Event
    record: WebhookRecord


@dataclass(frozen=True, slots=True)
class Attempt:
    """The result of one attempt, to record: ``status`` is the delivery's state after it."""

    at: datetime
    ok: bool
    status: str
    next_attempt_at: datetime | None
    http_status: int | None = None
    error: str | None = None
    excerpt: str | None = None


class WebhookStore(Protocol):
    """Endpoints, their deliveries, and the sender's claims."""

    def add(self, record: WebhookRecord, event: AuditEvent) -> None:
        """Insert an endpoint with its audit event."""
        ...

    def all(self) -> list[WebhookRecord]:
        """Every endpoint, oldest first."""
        ...

    def get(self, webhook_id: str) -> WebhookRecord | None: ...

    def remove(self, webhook_id: str, event: AuditEvent) -> bool:
        """Delete an endpoint and its deliveries, audited; False if there was none."""
        ...

    def disable(self, webhook_id: str, at: datetime, reason: str, event: AuditEvent) -> bool:
        """Mark an enabled endpoint disabled, audited; False if it was not enabled."""
        ...

    def deliveries(
        self, webhook_id: str, *, limit: int = 100, before: int | None = None
    ) -> list[Delivery]:
        """An endpoint's deliveries, newest first, with ids below ``before``."""
        ...

    def due(self, now: datetime) -> bool:
        """Whether any delivery may be claimed now (a read: no write lock)."""
        ...

    def claim(self, now: datetime, owner: str, limit: int, lease_until: datetime) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries to ``owner``: the oldest due one of each
        enabled endpoint that has no delivery in flight. So an endpoint gets one request
        at a time, across all senders, its events in order (until one needs a retry)."""
        ...

    def finish(
        self, delivery_id: int, owner: str, attempt: Attempt
    ) -> tuple[bool, datetime | None]:
        """Record an attempt if ``owner`` still holds the lease (else nothing: False), and
        move the endpoint's ``failing_since``, which is returned as it is after."""
        ...

    def release(self, owner: str) -> None:
        """Give up every lease ``owner`` holds (a sender that stops cleanly)."""
        ...

    def expiring(
        self, event_type: str, after: datetime, until: datetime, limit: int
    ) -> list[Secret]:
        """Secrets not revoked nor rotated whose expiry is in ``(after, until]`` and that
        have no ``event_type`` event yet (period ``once``), soonest first."""
        ...

    def purge(self, before: datetime) -> int:
        """Drop finished deliveries, and events no delivery needs, older than ``before``."""
        ...


class OutboxWrites(Protocol):
    """The part of a Transaction that writes to the outbox (see storage/_protocol.py)."""

    def webhook_subscriptions(self) -> list[Webhook]: ...

    def enqueue_webhook_event(self, event: Event, webhook_ids: Sequence[str]) -> bool: ...
