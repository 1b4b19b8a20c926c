"""Acceptance: a receiver that checks signatures with the standardwebhooks package gets
every event type, each once per delivery id, in the order of the changes."""

from __future__ import annotations

import json
from collections.abc import Callable

from keyhive import FrozenClock, KeyHive
from keyhive.core.webhooks import EVENT_TYPES
from keyhive.service.webhook_sender import WebhookSender

from .conftest import subscribe
from .receiver import Receiver
from .scenario import EXPECTED, play


def test_every_event_type_arrives_once_in_order(
    whive: KeyHive,
    receiver: Receiver,
    clock: FrozenClock,
    senders: Callable[..., WebhookSender],
) -> None:
    created = subscribe(whive, receiver)
    played = play(whive, senders(whive), clock)

    assert receiver.types() == EXPECTED
    assert set(EXPECTED) == set(EVENT_TYPES)
    ids = [r.webhook_id for r in receiver.received]
    assert len(ids) == len(set(ids)), "each delivery id arrives once"
    assert all(r.verified for r in receiver.received)
    deliveries = whive.webhook_deliveries(created.webhook.webhook_id)
    assert [d.status for d in deliveries] == ["delivered"] * len(EXPECTED)
    assert sorted(d.event_id for d in deliveries) == sorted(ids)
    # What each event is about.
    by_type = {}
    for item in receiver.received:
        by_type.setdefault(item.type, []).append(item.payload)
    limited, metered, successor, brief = played.secret_ids
    assert by_type["ratelimit.exceeded"][0]["data"]["secret_id"] == limited
    assert by_type["credits.low"][0]["data"] == {
        "secret_id": metered,
        "client_id": played.client_id,
        "credits": 2,
        "remaining": 0,
        "refill": None,
    }
    assert by_type["secret.rotated"][0]["data"]["secret"]["replaced_by"] == successor
    assert [p["data"]["secret"]["secret_id"] for p in by_type["secret.revoked"]] == [
        successor,
        metered,
    ]
    assert by_type["secret.leaked"][0]["data"]["secret"]["revoked_reason"] == (
        "https://example.com/leak"
    )
    assert by_type["client.disabled"][0]["data"]["client"]["enabled"] is False
    assert by_type["secret.expiring"][0]["data"]["secret"]["secret_id"] == brief
    assert by_type["secret.expired"][0]["data"]["secret"]["secret_id"] == brief
    for payload in (r.payload for r in receiver.received):
        assert set(payload) == {"type", "timestamp", "data"}
        assert payload["timestamp"].endswith("Z")


def test_payloads_hold_no_token_hash_digest_or_signing_secret(
    whive: KeyHive,
    receiver: Receiver,
    clock: FrozenClock,
    senders: Callable[..., WebhookSender],
) -> None:
    created = subscribe(whive, receiver)
    played = play(whive, senders(whive), clock)
    stored = [whive.store.get_secret(ident) for ident in played.secret_ids]
    forbidden = [*played.tokens, created.secret, created.secret.removeprefix("whsec_")]
    for found in stored:
        assert found is not None
        forbidden.append(found.hash)
        if found.digest is not None:
            forbidden += [found.digest, found.digest.split(":", 1)[1]]
    bodies = [r.body.decode() for r in receiver.received]
    headers = [json.dumps(r.headers) for r in receiver.received]
    assert len(bodies) == len(EXPECTED)
    for text in bodies + headers:
        for secret in forbidden:
            assert secret not in text
    # No member of any payload is named like a secret.
    names: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            names.update(value)
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    for item in receiver.received:
        walk(item.payload)
    assert not names & {"token", "hash", "digest", "secret_hash", "stored", "signing_secret"}


def test_the_signing_secret_is_stored_sealed_only(whive: KeyHive, receiver: Receiver) -> None:
    created = subscribe(whive, receiver)
    record = whive.store.webhooks.get(created.webhook.webhook_id)
    assert record is not None
    raw = created.secret.removeprefix("whsec_")
    assert raw not in record.secret_sealed and created.secret not in record.secret_sealed
    assert record.secret_sealed.startswith("v1.")
    assert "secret" not in json.dumps(created.webhook.to_dict())
    assert raw not in repr(created)
    for event in whive.audit():
        assert raw not in json.dumps(event.to_dict())
    assert [e.action for e in whive.audit()] == ["webhook.create"]


def test_endpoints_get_only_the_types_they_subscribe_to(
    whive: KeyHive,
    receiver: Receiver,
    clock: FrozenClock,
    senders: Callable[..., WebhookSender],
) -> None:
    revocations, everything = Receiver().start(), receiver
    try:
        subscribe(whive, revocations, "secret.revoked", "secret.leaked")
        subscribe(whive, everything, "*")
        play(whive, senders(whive), clock)
        assert revocations.types() == ["secret.revoked", "secret.revoked", "secret.leaked"]
        assert everything.types() == EXPECTED
    finally:
        revocations.stop()


def test_no_webhook_no_outbox_rows(whive: KeyHive, clock: FrozenClock) -> None:
    client = whive.create_client("quiet")
    whive.revoke(whive.issue_secret(client.client_id).secret_id)
    if whive.store.ephemeral:
        assert whive.store._state.webhook_events == {}  # type: ignore[attr-defined]
    else:
        import sqlalchemy as sa

        with whive.store.engine.connect() as conn:  # type: ignore[attr-defined]
            assert conn.execute(sa.text("SELECT count(*) FROM webhook_events")).scalar() == 0


def test_a_change_that_fails_leaves_no_event(
    whive: KeyHive, receiver: Receiver, senders: Callable[..., WebhookSender]
) -> None:
    from keyhive.core.errors import LastAdmin

    subscribe(whive, receiver, "secret.revoked")
    admin = whive.bootstrap_admin()
    assert admin is not None
    try:
        whive.revoke(admin.secret_id, keep_admin=True)
    except LastAdmin:
        pass
    else:  # pragma: no cover
        raise AssertionError("the last admin was revoked")
    senders(whive).step()
    assert receiver.received == []
