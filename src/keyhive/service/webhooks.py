"""Webhooks: endpoints that receive signed events (Standard Webhooks), and their deliveries.

An endpoint's signing secret is shown once, when it is created, and stored only sealed
under a subkey of the server key (``webhook signing secret``); a hive whose server key
dies with the process refuses to create one (except on the memory store, which dies
with it). Events reach the outbox with the changes that cause them
(:meth:`HiveBase._audit`), from verification through a buffer (:meth:`_write_signals`)
and from the expiry scan of the sender (:mod:`keyhive.service.webhook_sender`), which
delivers them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from keyhive.core import validation as check
from keyhive.core.errors import Conflict, InvalidInput, NotFound
from keyhive.core.model import AuditEvent
from keyhive.core.webhooks import (
    MAX_DESCRIPTION,
    MAX_WEBHOOKS,
    TEST_EVENT,
    Delivery,
    Event,
    NewWebhook,
    Signal,
    Webhook,
    WebhooksUnavailable,
    check_events,
    check_url,
    new_event_id,
    new_secret,
    new_webhook_id,
)
from keyhive.service import outbox
from keyhive.service._base import HiveBase
from keyhive.storage.webhooks import WebhookRecord

#: The purpose of the subkey that seals signing secrets.
PURPOSE: Final = "webhook signing secret"


class WebhookNotFound(NotFound):
    """No webhook has this id."""

    def __init__(self, webhook_id: str) -> None:
        super().__init__("webhook", webhook_id)


class Webhooks(HiveBase):
    """``create_webhook``, ``list_webhooks``, ``remove_webhook``, ``webhook_deliveries``,
    ``test_webhook``."""

    #: How webhook hosts are resolved, ``(host, port) -> addresses`` (None: the system's
    #: resolver). Tests replace it, so that no name is looked up outside the machine.
    webhook_resolver: Callable[[str, int], list[str]] | None = None

    def create_webhook(
        self,
        url: str,
        events: Sequence[str],
        *,
        description: str | None = None,
        actor: str | None = None,
    ) -> NewWebhook:
        """Add an endpoint for these event types (``["*"]``: all); the returned signing
        secret (``whsec_...``) is shown this once.

        The URL must be https (http too with KEYHIVE_WEBHOOK_ALLOW_PRIVATE) and its host
        must resolve to public addresses only, unless that setting allows private ones.
        """
        allow = self.settings.webhook_allow_private
        target = check_url(url, allow_private=allow)
        subscribed = check_events(events)
        about = check.text(description, "description", limit=MAX_DESCRIPTION, optional=True)
        sealing, guard, system_resolve = _extras()
        self._require_durable_key()
        guard(allow_private=allow, resolve=self.webhook_resolver or system_resolve).check_url(
            target
        )
        if len(self.store.webhooks.all()) >= MAX_WEBHOOKS:
            raise Conflict(f"there are {MAX_WEBHOOKS} webhooks already: remove one first")
        shown, raw = new_secret()
        hook = Webhook(
            webhook_id=new_webhook_id(),
            url=target,
            events=subscribed,
            description=about,
            enabled=True,
            created_at=self.clock.now(),
        )
        key_id = self.server_keys.newest_id
        record = WebhookRecord(
            hook, sealing.seal(self.server_keys, PURPOSE, key_id, hook.webhook_id, raw), key_id
        )
        self.store.webhooks.add(record, self._webhook_event(actor, "webhook.create", None, hook))
        return NewWebhook(hook, shown)

    def list_webhooks(self) -> list[Webhook]:
        """Every endpoint, oldest first (never a signing secret)."""
        return [record.webhook for record in self.store.webhooks.all()]

    def get_webhook(self, webhook_id: str) -> Webhook:
        return self._webhook_record(webhook_id).webhook

    def remove_webhook(self, webhook_id: str, *, actor: str | None = None) -> Webhook:
        """Delete an endpoint; deliveries not yet made to it are dropped."""
        hook = self.get_webhook(webhook_id)
        if not self.store.webhooks.remove(
            webhook_id, self._webhook_event(actor, "webhook.delete", hook, None)
        ):
            raise WebhookNotFound(webhook_id)
        return hook

    def webhook_deliveries(
        self, webhook_id: str, *, limit: int = 100, before: int | None = None
    ) -> list[Delivery]:
        """An endpoint's deliveries, newest first: status, attempts, the last answer."""
        if type(limit) is not int or not 1 <= limit <= 1000:
            raise InvalidInput("limit must be from 1 to 1000", field="limit")
        if before is not None and (type(before) is not int or before < 1):
            raise InvalidInput("before must be a positive delivery id", field="before")
        self.get_webhook(webhook_id)
        return self.store.webhooks.deliveries(webhook_id, limit=limit, before=before)

    def test_webhook(self, webhook_id: str, *, actor: str | None = None) -> Delivery:
        """Queue a ``webhook.test`` event for this endpoint alone; the sender of ``keyhive
        serve`` delivers it like any other. Returns the pending delivery."""
        hook = self.get_webhook(webhook_id)
        if not hook.enabled:
            raise Conflict("the webhook is disabled; create it anew to receive events")
        data: dict[str, Any] = {"webhook_id": webhook_id, "actor": actor}
        event = Event(new_event_id(), TEST_EVENT, self.clock.now(), data, subject=webhook_id)
        with self.store.transaction() as tx:
            written = outbox.enqueue(tx, [event], only=[webhook_id])
        if not written:  # removed in between
            raise WebhookNotFound(webhook_id)
        self._run_change_hooks("webhook", webhook_id)  # wakes a sender in this process
        for delivery in self.store.webhooks.deliveries(webhook_id, limit=20):
            if delivery.event_id == event.event_id:
                return delivery
        raise WebhookNotFound(webhook_id)  # pragma: no cover - removed in between

    # -- helpers -----------------------------------------------------------------------------
    def _webhook_record(self, webhook_id: str) -> WebhookRecord:
        check.identifier(webhook_id, "webhook_id")
        record = self.store.webhooks.get(webhook_id)
        if record is None:
            raise WebhookNotFound(webhook_id)
        return record

    def _require_durable_key(self) -> None:
        if not self.server_keys.durable and not self.store.ephemeral:
            raise WebhooksUnavailable(
                "webhooks need a server key that outlives this process (KEYHIVE_PEPPERS, or "
                "the key file `keyhive init` writes beside a SQLite database): signing "
                "secrets are sealed with it"
            )

    def _webhook_event(
        self, actor: str | None, action: str, before: Webhook | None, after: Webhook | None
    ) -> AuditEvent:
        target = after or before
        assert target is not None
        return AuditEvent(
            id=None,
            at=self.clock.now(),
            actor=check.text(actor, "actor", optional=True),
            action=action,
            target_type="webhook",
            target_id=target.webhook_id,
            before=before.to_dict() if before is not None else None,
            after=after.to_dict() if after is not None else None,
        )

    def _write_signals(self, signals: Sequence[Signal]) -> None:
        """Turn buffered verification signals into outbox events (once per period)."""
        types = {signal.type for signal in signals}
        hooks = self.list_webhooks()
        if not any(hook.wants(kind) for hook in hooks for kind in types):
            return
        events = [
            Event(new_event_id(), s.type, s.at, s.data, subject=s.subject, period=s.period)
            for s in signals
        ]
        with self.store.transaction() as tx:
            outbox.enqueue(tx, events)


def _extras() -> tuple[Any, Any, Any]:
    """The sealing module, the guard and the resolver: they need the webhooks extra."""
    try:
        import cryptography  # noqa: F401
        import standardwebhooks  # noqa: F401

        from keyhive.service import sealing
        from keyhive.service.webhook_http import Guard, system_resolve
    except ImportError:
        raise WebhooksUnavailable(
            "webhooks need the webhooks extra: pip install 'keyhive[webhooks]'"
        ) from None
    return sealing, Guard, system_resolve
