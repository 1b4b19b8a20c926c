"""Events that no admin change makes: secret.expiring and secret.expired (the sender's
periodic scan), credits.low and ratelimit.exceeded (from verification, through a buffer).

Each is sent once per secret (expiry) or once per secret and period (credits, rate
windows), also when several nodes see it: the outbox's unique (type, subject, period).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from keyhive import Code, FrozenClock, KeyHive, Settings
from keyhive.service.webhook_sender import WebhookSender

from .conftest import MakeHive, subscribe
from .receiver import Receiver

Senders = Callable[..., WebhookSender]


def minutes(sender: WebhookSender, clock: FrozenClock, count: int) -> None:
    for _ in range(count):
        clock.advance(timedelta(seconds=61))
        sender.step()


def test_secret_expiring_arrives_once_per_secret(
    whive: KeyHive, receiver: Receiver, clock: FrozenClock, senders: Senders
) -> None:
    subscribe(whive, receiver, "secret.expiring")
    client = whive.create_client("acme").client_id
    soon = whive.issue_secret(client, expires_in="3d")
    later = whive.issue_secret(client, expires_in="10d")
    never = whive.issue_secret(client)
    revoked = whive.issue_secret(client, expires_in="1d")
    whive.revoke(revoked.secret_id)
    sender = senders(whive)
    sender.step()
    minutes(sender, clock, 5)
    assert [r.payload["data"]["secret"]["secret_id"] for r in receiver.received] == [soon.secret_id]
    clock.advance(timedelta(days=3))  # ``later`` is now 7 days from expiring
    minutes(sender, clock, 5)
    clock.advance(timedelta(days=3))  # ``soon`` has expired: no second expiring for it
    minutes(sender, clock, 3)
    ids = [r.payload["data"]["secret"]["secret_id"] for r in receiver.received]
    assert ids == [soon.secret_id, later.secret_id]
    assert never.secret_id not in ids and revoked.secret_id not in ids
    assert receiver.types() == ["secret.expiring"] * 2


def test_secret_expired_arrives_once_and_not_for_old_expiries(
    whive: KeyHive, receiver: Receiver, clock: FrozenClock, senders: Senders
) -> None:
    client = whive.create_client("acme").client_id
    old = whive.issue_secret(client, expires_in="1h")
    clock.advance(timedelta(hours=2))  # expired before anyone subscribed
    subscribe(whive, receiver, "secret.expired")
    fresh = whive.issue_secret(client, expires_in="5m")
    sender = senders(whive)
    minutes(sender, clock, 10)
    assert [r.payload["data"]["secret"]["secret_id"] for r in receiver.received] == [
        fresh.secret_id
    ]
    assert receiver.received[0].payload["timestamp"] == (
        fresh.secret.expires_at.isoformat().replace("+00:00", "Z")  # type: ignore[union-attr]
    )
    assert old.secret_id


def test_two_nodes_scanning_send_expiring_once(
    make_hive: MakeHive,
    receiver: Receiver,
    clock: FrozenClock,
    senders: Senders,
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = make_hive(url), make_hive(url)
    subscribe(first, receiver, "secret.expiring")
    client = first.create_client("acme").client_id
    for _ in range(3):
        first.issue_secret(client, expires_in="2d")
    one, two = senders(first), senders(second)
    for _ in range(4):
        one.step()
        two.step()
        clock.advance(timedelta(seconds=61))
    assert receiver.types() == ["secret.expiring"] * 3
    assert len({r.webhook_id for r in receiver.received}) == 3


def test_credits_low_once_per_period(
    whive: KeyHive, receiver: Receiver, clock: FrozenClock, senders: Senders
) -> None:
    subscribe(whive, receiver, "credits.low")
    client = whive.create_client("acme").client_id
    issued = whive.issue_secret(client, credits=20, refill="day")
    sender = senders(whive)
    for _ in range(17):
        assert whive.verify(issued.token).valid
    whive.flush()
    sender.step()
    assert receiver.received == [], "3 of 20 left is not below 10 %"
    for _ in range(6):  # 1, then 0 left, then refused
        whive.verify(issued.token)
    assert whive.verify(issued.token).code is Code.USAGE_EXCEEDED
    whive.flush()
    sender.step()
    assert receiver.types() == ["credits.low"]
    assert receiver.received[0].payload["data"]["remaining"] == 1
    clock.advance(timedelta(days=1))  # a new day: a new allowance, a new period
    for _ in range(19):
        whive.verify(issued.token)
    whive.flush()
    sender.step()
    assert receiver.types() == ["credits.low"] * 2


def test_ratelimit_exceeded_at_most_once_per_window(
    whive: KeyHive, receiver: Receiver, clock: FrozenClock, senders: Senders
) -> None:
    subscribe(whive, receiver, "ratelimit.exceeded")
    client = whive.create_client("acme").client_id
    issued = whive.issue_secret(client, rate="2/hour")
    sender = senders(whive)
    codes = [whive.verify(issued.token).code for _ in range(10)]
    assert codes.count(Code.RATE_LIMITED) == 8
    whive.flush()
    sender.step()
    assert receiver.types() == ["ratelimit.exceeded"]
    data = receiver.received[0].payload["data"]
    assert (data["limit"], data["window_seconds"]) == (2, 3600)
    clock.advance(timedelta(hours=1))  # the next window (the limiter still refuses)
    for _ in range(3):
        whive.verify(issued.token)
    whive.flush()
    sender.step()
    assert receiver.types() == ["ratelimit.exceeded"] * 2


def test_verification_writes_nothing_until_the_buffer_is_flushed(
    whive: KeyHive, receiver: Receiver, senders: Senders
) -> None:
    created = subscribe(whive, receiver, "ratelimit.exceeded")
    issued = whive.issue_secret(whive.create_client("acme").client_id, rate="1/hour")
    for _ in range(5):
        whive.verify(issued.token)
    assert whive.webhook_deliveries(created.webhook.webhook_id) == []
    whive.flush()
    assert len(whive.webhook_deliveries(created.webhook.webhook_id)) == 1


def test_two_nodes_report_one_signal_once(
    make_hive: MakeHive,
    receiver: Receiver,
    clock: FrozenClock,
    senders: Senders,
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = make_hive(url), make_hive(url)
    subscribe(first, receiver, "ratelimit.exceeded")
    issued = first.issue_secret(first.create_client("acme").client_id, rate="1/hour")
    for hive in (first, second):  # each node counts in its own memory: each refuses
        for _ in range(3):
            hive.verify(issued.token)
        hive.flush()
    senders(first).step()
    assert receiver.types() == ["ratelimit.exceeded"]


def test_signals_without_subscribers_write_nothing(
    make_hive: MakeHive, tmp_path: Path, wh_settings: Settings
) -> None:
    import sqlalchemy as sa

    hive = make_hive(f"sqlite:///{tmp_path / 'quiet.db'}")
    issued = hive.issue_secret(hive.create_client("acme").client_id, rate="1/hour", credits=1)
    for _ in range(4):
        hive.verify(issued.token)
    hive.flush()
    with hive.store.engine.connect() as conn:  # type: ignore[attr-defined]
        assert conn.execute(sa.text("SELECT count(*) FROM webhook_events")).scalar() == 0
