"""Writing webhook events into the outbox, inside the transaction that causes them.

An event exists exactly when its change committed: a change that rolls back leaves no
event, and a node that dies after the commit leaves one for any sender to deliver.
Each event is written once, fanned out at that moment to one delivery per endpoint
subscribed to its type; with no subscriber nothing is written at all, so a hive without
webhooks pays one read of the (empty) endpoint table per change.
"""

from __future__ import annotations

from collections.abc import Sequence

from keyhive.core.model import AuditEvent
from keyhive.core.webhooks import AUDIT_TYPES, Event, Webhook, audit_data, new_event_id
from keyhive.storage import Transaction


def events_of(event: AuditEvent, also: Sequence[str] = ()) -> list[Event]:
    """The webhook events of one audited change (none for most actions)."""
    kind = AUDIT_TYPES.get(event.action)
    types = ([kind] if kind else []) + list(also)
    data = {**audit_data(event.after, event.target_type), "actor": event.actor}
    return [Event(new_event_id(), name, event.at, data, subject=event.target_id) for name in types]


def enqueue(
    tx: Transaction, events: Sequence[Event], only: Sequence[str] | None = None
) -> list[Event]:
    """Write each event with a delivery per subscribed endpoint (or, given ``only``, to
    those endpoints). Returns the events written: not those nobody subscribes to, nor
    those already written for their (type, subject, period)."""
    if not events:
        return []
    hooks: list[Webhook] = tx.webhook_subscriptions()
    written = []
    for event in events:
        if only is not None:
            targets = [h.webhook_id for h in hooks if h.webhook_id in only]
        else:
            targets = [h.webhook_id for h in hooks if h.wants(event.type)]
        if targets and tx.enqueue_webhook_event(event, targets):
            written.append(event)
    return written
