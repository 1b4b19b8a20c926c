"""Acceptance: a receiver that fails 3 times gets the retries, with the same id and body;
deliveries are given up after 7 tries; an endpoint failing for 3 days is disabled.

The sender's loop is stepped by the test and time moved on a FrozenClock: no sleeps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from keyhive import FrozenClock, KeyHive, Settings
from keyhive.core.webhooks import MAX_ATTEMPTS, RETRY_DELAYS
from keyhive.service.webhook_sender import WebhookSender

from .conftest import MakeHive, subscribe
from .receiver import Receiver

Senders = Callable[..., WebhookSender]


def later(delay: timedelta) -> timedelta:
    """Past a retry delay whatever its jitter (at most 10 % either way)."""
    return delay * 1.11


def test_a_receiver_that_fails_three_times_gets_the_retries(
    whive: KeyHive, receiver: Receiver, clock: FrozenClock, senders: Senders
) -> None:
    created = subscribe(whive, receiver, "client.disabled")
    sender = senders(whive)
    receiver.fail = 3
    whive.disable_client(whive.create_client("acme").client_id)

    assert sender.step() == 1  # fails
    assert sender.step() == 0  # not due again yet
    clock.advance(RETRY_DELAYS[0] * 0.89)
    assert sender.step() == 0  # jitter is at most 10 %
    for delay in RETRY_DELAYS[:3]:
        clock.advance(later(delay))
        assert sender.step() == 1
    clock.advance(timedelta(days=2))
    assert sender.step() == 0  # delivered: nothing more

    assert len(receiver.received) == 4
    assert all(r.verified for r in receiver.received)
    assert len({r.webhook_id for r in receiver.received}) == 1, "one id on every retry"
    assert len({r.body for r in receiver.received}) == 1, "one body on every retry"
    assert len({r.headers["webhook-timestamp"] for r in receiver.received}) == 4
    (delivery,) = whive.webhook_deliveries(created.webhook.webhook_id)
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("delivered", 4, 200)
    assert delivery.next_attempt_at is None and delivery.last_error is None


def test_a_delivery_is_given_up_after_seven_tries_over_a_day(
    whive: KeyHive, receiver: Receiver, clock: FrozenClock, senders: Senders
) -> None:
    created = subscribe(whive, receiver, "client.enabled")
    sender = senders(whive)
    receiver.status = 503
    receiver.body = b"down for maintenance " * 100
    start = clock.now()
    whive.enable_client(whive.create_client("acme").client_id)
    assert sender.step() == 1
    for delay in RETRY_DELAYS:
        clock.advance(later(delay))
        assert sender.step() == 1
    clock.advance(timedelta(days=7))
    assert sender.step() == 0
    assert len(receiver.received) == MAX_ATTEMPTS >= 6
    assert clock.now() - start > timedelta(days=1)
    (delivery,) = whive.webhook_deliveries(created.webhook.webhook_id)
    assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert delivery.last_status == 503 and delivery.last_error == "answered HTTP 503"
    assert delivery.response_excerpt is not None and len(delivery.response_excerpt) <= 200
    assert delivery.response_excerpt.startswith("down for maintenance")


def test_an_endpoint_failing_for_three_days_is_disabled_with_an_audit_event(
    whive: KeyHive, receiver: Receiver, clock: FrozenClock, senders: Senders
) -> None:
    created = subscribe(whive, receiver, "client.disabled", "client.enabled")
    hook_id = created.webhook.webhook_id
    sender = senders(whive)
    receiver.status = 500
    client = whive.create_client("acme").client_id
    whive.disable_client(client)
    sender.step()
    for delay in RETRY_DELAYS:  # all seven tries of the first event fail (about 35 h)
        clock.advance(later(delay))
        sender.step()
    assert whive.get_webhook(hook_id).enabled, "one event's tries are not enough"
    clock.advance(timedelta(days=2))
    whive.enable_client(client)
    while whive.get_webhook(hook_id).enabled:
        sender.step()
        clock.advance(timedelta(hours=1))
        assert clock.now() < created.webhook.created_at + timedelta(days=5)
    hook = whive.get_webhook(hook_id)
    assert hook.disabled_at is not None
    assert hook.disabled_at - created.webhook.created_at >= timedelta(days=3)
    assert hook.disabled_reason is not None and "failed since" in hook.disabled_reason
    (event,) = [e for e in whive.audit() if e.action == "webhook.disable"]
    assert (event.target_type, event.target_id, event.actor) == (
        "webhook",
        hook_id,
        "keyhive webhook sender",
    )
    assert event.after is not None and event.after["enabled"] is False
    # A disabled endpoint gets nothing more: not new events, not pending retries.
    tried = len(receiver.received)
    whive.disable_client(client)
    clock.advance(timedelta(days=2))
    assert sender.step() == 0
    assert len(receiver.received) == tried


def test_a_success_between_failures_keeps_the_endpoint(
    whive: KeyHive, receiver: Receiver, clock: FrozenClock, senders: Senders
) -> None:
    created = subscribe(whive, receiver, "client.disabled", "client.enabled")
    sender = senders(whive)
    client = whive.create_client("acme").client_id
    for day in range(5):
        receiver.fail = 1 if day % 2 else 100
        whive.disable_client(client) if day % 2 else whive.enable_client(client)
        for _ in range(6):
            sender.step()
            clock.advance(timedelta(hours=4))
    assert whive.get_webhook(created.webhook.webhook_id).enabled


def test_a_lease_keeps_a_second_sender_off_until_it_expires(
    whive: KeyHive, receiver: Receiver, clock: FrozenClock, senders: Senders
) -> None:
    subscribe(whive, receiver, "client.disabled")
    whive.disable_client(whive.create_client("acme").client_id)
    now = clock.now()
    # A sender claims the delivery and dies before sending it.
    (claimed,) = whive.store.webhooks.claim(now, "dead-sender", 10, now + timedelta(seconds=35))
    other = senders(whive)
    assert other.step() == 0
    clock.advance(timedelta(seconds=30))
    assert other.step() == 0
    clock.advance(timedelta(seconds=10))
    assert other.step() == 1
    assert [r.webhook_id for r in receiver.received] == [claimed.event.event_id]
    # The dead sender's late report is ignored: the lease is not its own any more.
    from keyhive.storage.webhooks import Attempt

    owned, _ = whive.store.webhooks.finish(
        claimed.delivery.delivery_id, "dead-sender", Attempt(now, False, "pending", now)
    )
    assert not owned


def test_redirects_are_not_followed(whive: KeyHive, receiver: Receiver, senders: Senders) -> None:
    created = subscribe(whive, receiver, "client.disabled")
    receiver.status = 302
    whive.disable_client(whive.create_client("acme").client_id)
    senders(whive).step()
    assert [r.path for r in receiver.received] == ["/hook"]
    (delivery,) = whive.webhook_deliveries(created.webhook.webhook_id)
    assert (delivery.status, delivery.last_status) == ("pending", 302)


def test_a_receiver_that_answers_too_slowly_times_out(
    make_hive: MakeHive, receiver: Receiver, senders: Senders
) -> None:
    hive = make_hive(
        "memory://",
        settings=Settings(
            hashing_profile="cheapest",
            webhook_allow_private=True,
            webhook_timeout=timedelta(seconds=1),
        ),
    )
    created = subscribe(hive, receiver, "client.disabled")
    receiver.delay = 1.5
    hive.disable_client(hive.create_client("acme").client_id)
    senders(hive).step()
    (delivery,) = hive.webhook_deliveries(created.webhook.webhook_id)
    assert (delivery.status, delivery.last_error) == ("pending", "timed out")


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_any_2xx_is_a_delivery(
    whive: KeyHive, receiver: Receiver, senders: Senders, status: int
) -> None:
    created = subscribe(whive, receiver, "client.disabled")
    receiver.status = status
    receiver.body = b"" if status == 204 else b"thanks"
    whive.disable_client(whive.create_client("acme").client_id)
    senders(whive).step()
    (delivery,) = whive.webhook_deliveries(created.webhook.webhook_id)
    assert delivery.status == "delivered"
