"""The webhook part of the Store contract (``store.webhooks`` and the outbox writes of a
Transaction), on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from keyhive.core.model import AuditEvent, Client, Secret, StoredSecret
from keyhive.core.webhooks import ONCE, Event, Webhook
from keyhive.storage import Store
from keyhive.storage.webhooks import Attempt, WebhookRecord

NOW = datetime(2030, 1, 1, tzinfo=UTC)
LEASE = NOW + timedelta(minutes=1)


def hook(ident: str, *events: str, enabled: bool = True) -> WebhookRecord:
    webhook = Webhook(ident, f"https://h.example/{ident}", events or ("*",), None, enabled, NOW)
    return WebhookRecord(webhook, "v1.sealed", "k1")


def audit(action: str, ident: str) -> AuditEvent:
    return AuditEvent(None, NOW, "test", action, "webhook", ident)


def event(ident: str, kind: str = "client.disabled", **extra: str) -> Event:
    return Event(
        ident,
        kind,
        NOW,
        {"n": ident},
        subject=extra.get("subject", "c1"),
        period=extra.get("period"),
    )


def enqueue(store: Store, item: Event, *hooks: str) -> bool:
    with store.transaction() as tx:
        return tx.enqueue_webhook_event(item, list(hooks))


@pytest.fixture
def two(store: Store) -> Store:
    store.webhooks.add(hook("wh_a"), audit("webhook.create", "wh_a"))
    store.webhooks.add(hook("wh_b", "secret.revoked"), audit("webhook.create", "wh_b"))
    return store


def test_endpoints_are_stored_listed_disabled_and_removed(two: Store) -> None:
    webhooks = two.webhooks
    assert [r.webhook.webhook_id for r in webhooks.all()] == ["wh_a", "wh_b"]
    assert webhooks.get("wh_a") == hook("wh_a")
    with two.transaction() as tx:
        assert [w.webhook_id for w in tx.webhook_subscriptions()] == ["wh_a", "wh_b"]
    assert webhooks.disable("wh_a", NOW, "failing", audit("webhook.disable", "wh_a"))
    assert not webhooks.disable("wh_a", NOW, "failing", audit("webhook.disable", "wh_a"))
    disabled = webhooks.get("wh_a")
    assert disabled is not None and not disabled.webhook.enabled
    assert disabled.webhook.disabled_reason == "failing"
    with two.transaction() as tx:
        assert [w.webhook_id for w in tx.webhook_subscriptions()] == ["wh_b"]
    assert webhooks.remove("wh_b", audit("webhook.delete", "wh_b"))
    assert not webhooks.remove("wh_b", audit("webhook.delete", "wh_b"))
    assert webhooks.get("wh_b") is None
    actions = [e.action for e in two.list_audit()]
    assert actions == ["webhook.create", "webhook.create", "webhook.disable", "webhook.delete"]


def test_an_event_with_a_period_is_written_once(two: Store) -> None:
    once = event("msg_1", "secret.expiring", subject="s1", period=ONCE)
    assert enqueue(two, once, "wh_a")
    assert not enqueue(two, event("msg_2", "secret.expiring", subject="s1", period=ONCE), "wh_a")
    assert enqueue(two, event("msg_3", "secret.expiring", subject="s2", period=ONCE), "wh_a")
    assert enqueue(two, event("msg_4"), "wh_a") and enqueue(two, event("msg_5"), "wh_a")
    ids = [d.event_id for d in two.webhooks.deliveries("wh_a")]
    assert ids == ["msg_5", "msg_4", "msg_3", "msg_1"]


def test_a_rolled_back_transaction_leaves_no_event(two: Store) -> None:
    with pytest.raises(RuntimeError), two.transaction() as tx:
        tx.enqueue_webhook_event(event("msg_1"), ["wh_a"])
        raise RuntimeError("the change failed")
    assert two.webhooks.deliveries("wh_a") == []
    assert not two.webhooks.due(NOW)


def test_claims_take_the_oldest_due_delivery_of_each_endpoint(two: Store) -> None:
    for number in range(3):
        enqueue(two, event(f"msg_{number}"), "wh_a", "wh_b")
    webhooks = two.webhooks
    assert webhooks.due(NOW) and not webhooks.due(NOW - timedelta(seconds=1))
    first = webhooks.claim(NOW, "one", 10, LEASE)
    assert [(c.record.webhook.webhook_id, c.event.event_id) for c in first] == [
        ("wh_a", "msg_0"),
        ("wh_b", "msg_0"),
    ]
    assert first[0].event.data == {"n": "msg_0"} and first[0].record == hook("wh_a")
    # One delivery in flight per endpoint: nothing more until those are recorded.
    assert webhooks.claim(NOW, "two", 10, LEASE) == []
    assert not webhooks.due(NOW)
    done = Attempt(NOW, True, "delivered", None, 200)
    webhooks.finish(first[0].delivery.delivery_id, "one", done)
    (second,) = webhooks.claim(NOW, "two", 10, LEASE)
    assert (second.record.webhook.webhook_id, second.event.event_id) == ("wh_a", "msg_1")
    # Once a lease ends, the delivery not recorded is due again.
    later = LEASE + timedelta(seconds=1)
    assert [c.event.event_id for c in webhooks.claim(later, "x", 10, later)] == [
        "msg_0",
        "msg_1",
    ]


def test_finishing_records_the_attempt_and_the_endpoint_state(two: Store) -> None:
    enqueue(two, event("msg_1"), "wh_a")
    webhooks = two.webhooks
    (claimed,) = webhooks.claim(NOW, "one", 10, LEASE)
    number = claimed.delivery.delivery_id
    retry = NOW + timedelta(minutes=1)
    failed = Attempt(NOW, False, "pending", retry, 500, "answered HTTP 500", "oops")
    assert webhooks.finish(number, "other", failed) == (False, None)
    assert webhooks.finish(number, "one", failed) == (True, NOW)
    (delivery,) = webhooks.deliveries("wh_a")
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("pending", 1, retry)
    assert (delivery.last_status, delivery.last_error, delivery.response_excerpt) == (
        500,
        "answered HTTP 500",
        "oops",
    )
    assert webhooks.claim(NOW, "one", 10, LEASE) == []
    (again,) = webhooks.claim(retry, "one", 10, retry + timedelta(minutes=1))
    assert again.delivery.attempts == 1
    later = retry + timedelta(seconds=1)
    assert webhooks.finish(number, "one", Attempt(later, True, "delivered", None, 200)) == (
        True,
        None,
    )
    (done,) = webhooks.deliveries("wh_a")
    assert (done.status, done.attempts, done.delivered_at) == ("delivered", 2, later)
    assert not webhooks.due(retry + timedelta(days=1))
    record = webhooks.get("wh_a")
    assert record is not None and record.failing_since is None


def test_release_gives_up_leases(two: Store) -> None:
    enqueue(two, event("msg_1"), "wh_a")
    webhooks = two.webhooks
    assert len(webhooks.claim(NOW, "one", 10, LEASE)) == 1
    assert webhooks.claim(NOW, "two", 10, LEASE) == []
    webhooks.release("one")
    assert len(webhooks.claim(NOW, "two", 10, LEASE)) == 1


def test_disabled_and_removed_endpoints_are_not_claimed(two: Store) -> None:
    enqueue(two, event("msg_1"), "wh_a", "wh_b")
    two.webhooks.disable("wh_a", NOW, "failing", audit("webhook.disable", "wh_a"))
    two.webhooks.remove("wh_b", audit("webhook.delete", "wh_b"))
    assert two.webhooks.claim(NOW, "one", 10, LEASE) == []
    assert two.webhooks.deliveries("wh_b") == []


def test_expiring_finds_secrets_not_yet_announced(store: Store) -> None:
    client = Client("c1", "acme", None, {}, True, NOW)

    def secret(ident: str, days: int, **fields: object) -> Secret:
        return Secret(
            ident, "c1", None, (), "kh", NOW, expires_at=NOW + timedelta(days=days), **fields
        )

    with store.transaction() as tx:
        tx.insert_client(client)
        for item in (
            secret("AAAAAAAAAAAAAAA1", 2),
            secret("AAAAAAAAAAAAAAA2", 5),
            secret("AAAAAAAAAAAAAAA3", 30),
            secret("AAAAAAAAAAAAAAA4", 1, revoked_at=NOW),
        ):
            tx.insert_secret(StoredSecret(item, "hash"))
    store.webhooks.add(hook("wh_a"), audit("webhook.create", "wh_a"))
    week = NOW + timedelta(days=7)
    found = store.webhooks.expiring("secret.expiring", NOW, week, 10)
    assert [s.secret_id for s in found] == ["AAAAAAAAAAAAAAA1", "AAAAAAAAAAAAAAA2"]
    enqueue(
        store, event("msg_1", "secret.expiring", subject="AAAAAAAAAAAAAAA1", period=ONCE), "wh_a"
    )
    found = store.webhooks.expiring("secret.expiring", NOW, week, 10)
    assert [s.secret_id for s in found] == ["AAAAAAAAAAAAAAA2"]
    assert len(store.webhooks.expiring("secret.expired", NOW, week, 10)) == 2
    assert len(store.webhooks.expiring("secret.expiring", NOW, week, 1)) == 1


def test_purge_drops_finished_deliveries_and_unused_events(two: Store) -> None:
    enqueue(two, event("msg_1"), "wh_a")
    enqueue(two, event("msg_2"), "wh_a")
    webhooks = two.webhooks
    (claimed,) = webhooks.claim(NOW, "one", 1, LEASE)
    webhooks.finish(claimed.delivery.delivery_id, "one", Attempt(NOW, True, "delivered", None))
    assert webhooks.purge(NOW) == 0  # nothing older than the cut
    assert webhooks.purge(NOW + timedelta(days=1)) == 2  # the delivered one and its event
    assert [d.event_id for d in webhooks.deliveries("wh_a")] == ["msg_2"]
