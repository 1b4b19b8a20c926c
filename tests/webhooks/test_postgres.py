"""Webhooks on PostgreSQL: the whole scenario, and senders on several nodes that never
send one delivery twice at the same time (FOR UPDATE SKIP LOCKED and leases)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from keyhive import FrozenClock, Settings
from keyhive.service.webhook_sender import WebhookSender

from .conftest import MakeHive, subscribe
from .receiver import Receiver
from .scenario import EXPECTED, play

Senders = Callable[..., WebhookSender]


@pytest.fixture
def wh_settings() -> Settings:
    """Nodes on one PostgreSQL share a server key (KEYHIVE_PEPPERS)."""
    return Settings(
        hashing_profile="cheapest", webhook_allow_private=True, peppers=(("k1", b"p" * 32),)
    )


def test_every_event_type_arrives_once_in_order_on_postgres(
    make_hive: MakeHive,
    pg_url: str,
    receiver: Receiver,
    clock: FrozenClock,
    senders: Senders,
) -> None:
    hive = make_hive(pg_url)
    subscribe(hive, receiver)
    play(hive, senders(hive), clock)
    assert receiver.types() == EXPECTED
    assert len({r.webhook_id for r in receiver.received}) == len(EXPECTED)


def test_concurrent_claims_never_share_a_delivery(
    make_hive: MakeHive, pg_url: str, clock: FrozenClock
) -> None:
    hive = make_hive(pg_url)
    client = hive.create_client("acme").client_id
    for number in range(30):  # 30 endpoints, 4 events each: 120 deliveries
        hive.create_webhook(f"http://127.0.0.1:9/{number}", ["client.disabled", "client.enabled"])
    for _ in range(2):
        hive.disable_client(client)
        hive.enable_client(client)
    now = clock.now()
    claims: dict[str, list[tuple[int, str]]] = {}
    start = threading.Barrier(8)

    def claim(owner: str) -> None:
        start.wait()
        got = hive.store.webhooks.claim(now, owner, 10, now + timedelta(minutes=1))
        claims[owner] = [(c.delivery.delivery_id, c.delivery.webhook_id) for c in got]

    threads = [threading.Thread(target=claim, args=(f"node-{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken = [ident for ids in claims.values() for ident, _hook in ids]
    assert len(taken) == len(set(taken)), "a delivery was leased to two senders"
    for ids in claims.values():  # one claim: at most one delivery per endpoint
        assert len({hook for _ident, hook in ids}) == len(ids)
    # Exactly the oldest delivery of each endpoint: one in flight per endpoint, in order.
    hooks = [hook.webhook_id for hook in hive.list_webhooks()]
    firsts = {min(d.delivery_id for d in hive.webhook_deliveries(h)) for h in hooks}
    assert set(taken) == firsts
    assert hive.store.webhooks.claim(now, "late", 10, now + timedelta(minutes=1)) == []


def test_two_senders_on_one_database_deliver_each_once(
    make_hive: MakeHive, pg_url: str, receiver: Receiver, clock: FrozenClock, senders: Senders
) -> None:
    """Two nodes (two hives, two senders) step at once over 40 deliveries to one slow
    receiver: every delivery arrives exactly once and none while it is in flight."""
    first, second = make_hive(pg_url), make_hive(pg_url)
    subscribe(first, receiver, "client.disabled", "client.enabled")
    receiver.delay = 0.02
    client = first.create_client("acme").client_id
    for _ in range(20):
        first.disable_client(client)
        first.enable_client(client)
    one, two = senders(first), senders(second)
    start = threading.Barrier(2)
    made: list[int] = []

    def run(sender: WebhookSender) -> None:
        start.wait()
        for _ in range(200):
            attempts = sender.step()
            made.append(attempts)
            if len(receiver.first_of_each()) == 40:
                return

    threads = [threading.Thread(target=run, args=(s,)) for s in (one, two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [r.webhook_id for r in receiver.received]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert receiver.overlaps == []
    assert sum(made) == 40
