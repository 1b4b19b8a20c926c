"""KeyHive.check_leaks and revoke_leaked: only a token that matches its hash is a secret's;
only active ones are revoked, in one transaction, audited, with no token in the audit."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from keyhive import FrozenClock, KeyHive, Settings
from keyhive.core.leaks import Leak, LeakStatus, mask
from keyhive.core.tokens import checksum, parse_token
from tests.bulk import issue_many


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def any_hive(
    request: pytest.FixtureRequest, clock: FrozenClock, settings: Settings, db_url: str
) -> Iterator[KeyHive]:
    url = {"memory": "memory://", "sqlite": db_url}.get(request.param)
    if url is None:
        url = str(request.getfixturevalue("pg_url"))
    h = KeyHive(url, settings=settings, clock=clock)
    yield h
    h.close()


def forged(token: str) -> str:
    """A token with the same (public) id and a valid checksum, but not the issued one."""
    body = token[:-7] + ("x" if token[-7] != "x" else "y")
    return body + checksum(body)


def test_statuses_of_real_tokens_and_look_alikes(any_hive: KeyHive, clock: FrozenClock) -> None:
    client = any_hive.create_client("acme")
    active = any_hive.issue_secret(client.client_id)
    revoked = any_hive.issue_secret(client.client_id)
    any_hive.revoke(revoked.secret_id)
    expired = any_hive.issue_secret(client.client_id, expires_in="1h")
    rotated = any_hive.issue_secret(client.client_id)
    any_hive.rotate(rotated.secret_id, grace="1d")
    clock.advance(timedelta(hours=2))
    unknown = forged(active.token)
    assert parse_token(unknown).secret_id == active.secret_id
    checks = any_hive.check_leaks(
        [active.token, revoked.token, expired.token, rotated.token, unknown, "kh_nonsense"]
    )
    assert [c.status for c in checks] == [
        LeakStatus.ACTIVE,
        LeakStatus.REVOKED,
        LeakStatus.EXPIRED,
        LeakStatus.ACTIVE,  # still in its grace period: it works
        LeakStatus.UNKNOWN,  # a real id, but not the token issued for it
        LeakStatus.UNKNOWN,
    ]
    assert [c.secret_id for c in checks[:5]] == [
        active.secret_id,
        revoked.secret_id,
        expired.secret_id,
        rotated.secret_id,
        active.secret_id,
    ]
    assert [c.genuine for c in checks] == [True, True, True, True, False, False]
    assert not any(c.revoked for c in checks)


def test_checking_writes_nothing_and_counts_no_use(any_hive: KeyHive) -> None:
    client = any_hive.create_client("acme")
    issued = any_hive.issue_secret(client.client_id)
    before = len(any_hive.audit(limit=1000))
    any_hive.check_leaks([issued.token])
    any_hive.flush()
    assert len(any_hive.audit(limit=1000)) == before
    assert any_hive.get_secret(issued.secret_id).usage_count == 0


def test_revoke_leaked_revokes_exactly_the_active_ones(
    any_hive: KeyHive, clock: FrozenClock
) -> None:
    client = any_hive.create_client("acme")
    active = [any_hive.issue_secret(client.client_id) for _ in range(3)]
    revoked = any_hive.issue_secret(client.client_id)
    any_hive.revoke(revoked.secret_id, reason="old")
    innocent = any_hive.issue_secret(client.client_id)
    clock.advance(timedelta(minutes=1))
    leaks = [
        Leak(active[0].token, f"https://github.com/o/r/blob/x/.env?k={active[0].token}"),
        Leak(active[1].token, "leaked"),
        Leak(active[1].token, "second report"),
        Leak(revoked.token, "leaked"),
        Leak(forged(innocent.token), "leaked"),
        Leak(active[2].token, "leaked"),
    ]
    first_new = len(any_hive.audit(limit=1000))
    checks = any_hive.revoke_leaked(leaks, actor="tester")
    assert [c.revoked for c in checks] == [True, True, True, False, False, True]
    assert [c.status for c in checks][:4] == [LeakStatus.ACTIVE] * 3 + [LeakStatus.REVOKED]
    now = clock.now()
    for issued in active:
        secret = any_hive.get_secret(issued.secret_id)
        assert secret.revoked_at == now
        assert any_hive.verify(issued.token).code.value == "REVOKED"
    assert any_hive.get_secret(active[1].secret_id).revoked_reason == "leaked"
    reason = any_hive.get_secret(active[0].secret_id).revoked_reason
    assert reason == f"https://github.com/o/r/blob/x/.env?k={mask(parse_token(active[0].token))}"
    assert any_hive.get_secret(revoked.secret_id).revoked_reason == "old"
    assert any_hive.get_secret(innocent.secret_id).revoked_at is None, "a forgery revokes nothing"
    events = any_hive.audit(after_id=first_new, limit=1000)
    assert [(e.action, e.target_id, e.actor) for e in events] == [
        ("secret.revoke", issued.secret_id, "tester") for issued in active
    ]
    text = json.dumps([e.to_dict() for e in any_hive.audit(limit=1000)])
    for issued in [*active, revoked, innocent]:
        assert issued.token[-49:-37] not in text
    assert any_hive.verify_audit().ok


def test_revocations_of_one_report_commit_together(
    any_hive: KeyHive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure inside the transaction leaves every secret of the report as it was."""
    client = any_hive.create_client("acme")
    tokens = [any_hive.issue_secret(client.client_id) for _ in range(3)]
    audit_before = any_hive.store.last_audit_id()
    real_event = any_hive._event
    calls = []

    def event_then_fail(*args: object) -> object:
        calls.append(args)
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return real_event(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(any_hive, "_event", event_then_fail)
    with pytest.raises(RuntimeError):
        any_hive.revoke_leaked([Leak(t.token, "leaked") for t in tokens])
    assert all(any_hive.get_secret(t.secret_id).revoked_at is None for t in tokens)
    assert any_hive.store.last_audit_id() == audit_before


def test_a_thousand_leaks_are_checked_and_revoked(sqlite_hive: KeyHive) -> None:
    client = sqlite_hive.create_client("acme")
    tokens = issue_many(sqlite_hive, client.client_id, 1000)
    checks = sqlite_hive.revoke_leaked([Leak(t, "leaked") for t in tokens])
    assert all(c.revoked for c in checks)
    stored = sqlite_hive.store.get_secrets([parse_token(t).secret_id for t in tokens])
    assert len(stored) == 1000 and all(s.secret.revoked_at is not None for s in stored)
    report = sqlite_hive.verify_audit()
    assert report.ok and report.verified == sqlite_hive.store.last_audit_id() == 1001


def test_nothing_to_revoke_writes_nothing(any_hive: KeyHive) -> None:
    before = any_hive.store.last_audit_id()
    checks = any_hive.revoke_leaked([Leak("kh_x", "leaked"), Leak("", "")])
    assert [c.status for c in checks] == [LeakStatus.UNKNOWN, LeakStatus.UNKNOWN]
    assert any_hive.store.last_audit_id() == before


def test_leak_values_hide_the_token() -> None:
    leak = Leak("kh_secretvalue", "why")
    assert "secretvalue" not in repr(leak)
    assert dataclasses.asdict(leak)["reason"] == "why"
