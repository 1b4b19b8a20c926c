"""Lifecycle operations: their results, their audit events and their errors."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from keyhive import (
    ClientNotFound,
    Conflict,
    FrozenClock,
    InvalidDuration,
    InvalidInput,
    InvalidScope,
    KeyHive,
    SecretNotFound,
)


def test_client_ids_are_random_base64_like_the_article(hive: KeyHive) -> None:
    ids = {hive.create_client(f"c{i}").client_id for i in range(20)}
    assert len(ids) == 20
    for ident in ids:
        assert len(base64.b64decode(ident, validate=True)) == 32
    hexed = hive.create_client("h", key_format="hex", key_size=16)
    assert len(hexed.client_id) == 32 and int(hexed.client_id, 16) >= 0


def test_explicit_client_id_conflicts(hive: KeyHive) -> None:
    hive.create_client("a", client_id="fixed")
    with pytest.raises(Conflict):
        hive.create_client("b", client_id="fixed")
    assert hive.get_client("fixed").name == "a"


def test_every_change_writes_an_audit_event_without_secrets(hive: KeyHive) -> None:
    client = hive.create_client("c", actor="alice")
    issued = hive.issue_secret(client.client_id, scopes=["a:b"], actor="alice")
    hive.update(issued.secret_id, scopes=["a:c"], actor="bob")
    rotated = hive.rotate(issued.secret_id, grace="1h", actor="bob")
    hive.revoke(rotated.secret_id, reason="leaked", actor="carol")
    hive.update_client(client.client_id, metadata={"tier": 2}, actor="carol")
    hive.disable_client(client.client_id, actor="dave")
    hive.enable_client(client.client_id, actor="dave")
    events = hive.audit()
    assert [e.action for e in events] == [
        "client.create",
        "secret.issue",
        "secret.update",
        "secret.rotate",
        "secret.issue",
        "secret.revoke",
        "client.update",
        "client.disable",
        "client.enable",
    ]
    assert events[2].before is not None and events[2].before["scopes"] == ["a:b"]
    assert events[2].after is not None and events[2].after["scopes"] == ["a:c"]
    assert events[5].actor == "carol" and events[5].after is not None
    assert events[5].after["revoked_reason"] == "leaked"
    text = str([e.to_dict() for e in events])
    for token in (issued.token, rotated.token):
        assert token not in text and token[-49:-6] not in text
    assert [e.action for e in hive.audit(target_id=client.client_id)][0] == "client.create"
    assert len(hive.audit(after_id=events[-2].id or 0)) == 1


def test_issue_options(hive: KeyHive, clock: FrozenClock) -> None:
    client = hive.create_client("c")
    when = clock.now() + timedelta(days=3)
    issued = hive.issue_secret(client.client_id, expires_at=when, name="ci", prefix="acme")
    assert issued.token.startswith("acme_") and issued.secret.expires_at == when
    assert hive.list_secrets(client.client_id)[0].name == "ci"
    with pytest.raises(InvalidInput):
        hive.issue_secret(client.client_id, expires_at=when, expires_in="1d")
    with pytest.raises(InvalidInput):
        hive.issue_secret(client.client_id, expires_in="0s")
    with pytest.raises(InvalidInput):
        hive.issue_secret(client.client_id, expires_at=datetime(2030, 1, 1))  # naive
    with pytest.raises(InvalidDuration):
        hive.issue_secret(client.client_id, expires_in="soon")
    with pytest.raises(InvalidScope):
        hive.issue_secret(client.client_id, scopes=["no spaces allowed"])
    with pytest.raises(InvalidInput):
        hive.issue_secret(client.client_id, prefix="UPPER")


def test_rotation_rules(hive: KeyHive) -> None:
    client = hive.create_client("c")
    issued = hive.issue_secret(client.client_id)
    hive.rotate(issued.secret_id, grace="1h")
    with pytest.raises(Conflict):
        hive.rotate(issued.secret_id)
    revoked = hive.issue_secret(client.client_id)
    hive.revoke(revoked.secret_id)
    with pytest.raises(Conflict):
        hive.rotate(revoked.secret_id)


def test_revoke_twice_keeps_the_first_time(hive: KeyHive, clock: FrozenClock) -> None:
    issued = hive.issue_secret(hive.create_client("c").client_id)
    first = hive.revoke(issued.secret_id, reason="one")
    clock.advance(10)
    second = hive.revoke(issued.secret_id, reason="two")
    assert second.revoked_at == first.revoked_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert second.revoked_reason == "two"


@pytest.mark.parametrize(
    "call",
    [
        lambda h: h.get_client("missing"),
        lambda h: h.list_secrets("missing"),
        lambda h: h.issue_secret("missing"),
        lambda h: h.disable_client("missing"),
    ],
)
def test_unknown_clients(hive: KeyHive, call: object) -> None:
    with pytest.raises(ClientNotFound):
        call(hive)  # type: ignore[operator]


@pytest.mark.parametrize("ident", ["A" * 16, "short", "x" * 128])
def test_unknown_secrets(hive: KeyHive, ident: str) -> None:
    with pytest.raises(SecretNotFound):
        hive.revoke(ident)
    with pytest.raises(SecretNotFound):
        hive.get_secret(ident)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": None},
        {"name": ""},
        {"name": "x" * 10_000_000},
        {"name": 5},
        {"name": "ok", "metadata": "not a dict"},
        {"name": "ok", "metadata": {"x": object()}},
        {"name": "ok", "metadata": {"big": "x" * 20_000}},
        {"name": "ok", "owner": "\x00"},
        {"name": "ok", "client_id": ""},
        {"name": "ok", "key_format": "rot13"},
        {"name": "ok", "key_size": 4},
    ],
)
def test_bad_client_input_is_invalid_input(hive: KeyHive, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        hive.create_client(**kwargs)  # type: ignore[arg-type]
    assert hive.audit() == []


def test_list_limits(hive: KeyHive) -> None:
    for bad in (0, 1001, "10"):
        with pytest.raises(InvalidInput):
            hive.list_clients(limit=bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput):
            hive.audit(limit=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        hive.audit(after_id=-1)


def test_bootstrap_admin_once(hive: KeyHive) -> None:
    first = hive.bootstrap_admin()
    assert first is not None
    assert set(first.secret.scopes) == {"keyhive:admin", "keyhive:verify"}
    assert hive.verify(first.token, ["keyhive:admin"]).valid
    assert hive.bootstrap_admin() is None
