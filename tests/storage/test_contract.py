"""The Store contract: every implementation must pass the same tests."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from keyhive.core.errors import ClientNotFound, Conflict, SecretNotFound
from keyhive.core.model import AuditEvent, Client, Secret, StoredSecret
from keyhive.storage import Store, Usage

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def client(ident: str = "c1", **kw: object) -> Client:
    base = Client(ident, "name", "owner", {"k": [1, 2]}, True, T0)
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def secret(ident: str = "S" * 16, client_id: str = "c1", **kw: object) -> Secret:
    base = Secret(ident, client_id, "n", ("a:b", "c:*"), "kh", T0)
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def event(target: str = "c1", action: str = "client.create") -> AuditEvent:
    return AuditEvent(None, T0, "tester", action, "client", target, None, {"x": 1})


def test_client_round_trip(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_client(client())
    assert store.get_client("c1") == client()
    assert store.get_client("nope") is None


def test_duplicate_client_is_a_conflict_and_keeps_the_first(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_client(client())
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.insert_client(client(name="second"))
    assert store.get_client("c1") == client()


def test_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.insert_client(client())
        tx.append_audit(event())
        raise RuntimeError("boom")
    assert store.get_client("c1") is None
    assert store.list_audit() == []


def test_update_client_and_missing_client(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_client(client())
    with store.transaction() as tx:
        tx.update_client(client(enabled=False, metadata={"n": None}, owner=None))
    got = store.get_client("c1")
    assert got is not None and not got.enabled and got.owner is None and got.metadata == {"n": None}
    with pytest.raises(ClientNotFound), store.transaction() as tx:
        tx.update_client(client("ghost"))


def test_list_clients_pages_and_filters(store: Store) -> None:
    with store.transaction() as tx:
        for i in range(5):
            tx.insert_client(client(f"c{i}", owner="even" if i % 2 == 0 else "odd"))
    assert [c.client_id for c in store.list_clients(limit=2)] == ["c0", "c1"]
    assert [c.client_id for c in store.list_clients(after="c1", limit=2)] == ["c2", "c3"]
    assert [c.client_id for c in store.list_clients(owner="odd")] == ["c1", "c3"]


def test_secret_round_trip_with_scopes_and_hash(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_client(client())
        tx.insert_secret(StoredSecret(secret(expires_at=T0 + timedelta(days=1)), "$hash$1"))
    got = store.get_secret("S" * 16)
    assert got is not None
    assert got.secret == secret(expires_at=T0 + timedelta(days=1))
    assert got.hash == "$hash$1"
    assert store.get_secret("X" * 16) is None


def test_secret_needs_existing_client_and_unique_id(store: Store) -> None:
    with pytest.raises(ClientNotFound), store.transaction() as tx:
        tx.insert_secret(StoredSecret(secret(client_id="ghost"), "h"))
    with store.transaction() as tx:
        tx.insert_client(client())
        tx.insert_secret(StoredSecret(secret(), "h"))
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.insert_secret(StoredSecret(secret(), "other"))
    stored = store.get_secret("S" * 16)
    assert stored is not None and stored.hash == "h"


def test_update_secret_changes_public_fields_only(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_client(client())
        tx.insert_secret(StoredSecret(secret(), "h"))
    store.record_usage({"S" * 16: Usage(3, T0)})
    changed = secret(scopes=("x:y",), revoked_at=T0, revoked_reason="leak", replaced_by="R" * 16)
    with store.transaction() as tx:
        tx.update_secret(changed)
    got = store.get_secret("S" * 16)
    assert got is not None and got.hash == "h"
    assert got.secret.scopes == ("x:y",) and got.secret.revoked_reason == "leak"
    assert got.secret.usage_count == 3, "an admin update must not reset usage"
    with pytest.raises(SecretNotFound), store.transaction() as tx:
        tx.update_secret(secret("G" * 16))


def test_list_secrets_oldest_first(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_client(client())
        tx.insert_client(client("c2"))
        tx.insert_secret(StoredSecret(secret("B" * 16, created_at=T0 + timedelta(1)), "h"))
        tx.insert_secret(StoredSecret(secret("A" * 16), "h"))
        tx.insert_secret(StoredSecret(secret("C" * 16, client_id="c2"), "h"))
    assert [s.secret.secret_id for s in store.list_secrets("c1")] == ["A" * 16, "B" * 16]
    assert store.list_secrets("nobody") == []


def test_replace_hash_is_compare_and_set(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_client(client())
        tx.insert_secret(StoredSecret(secret(), "old"))
    assert not store.replace_hash("S" * 16, "wrong", "new")
    assert store.replace_hash("S" * 16, "old", "new")
    stored = store.get_secret("S" * 16)
    assert stored is not None and stored.hash == "new"
    assert not store.replace_hash("X" * 16, "old", "new")


def test_usage_adds_and_moves_last_used_forward_only(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_client(client())
        tx.insert_secret(StoredSecret(secret(), "h"))
    store.record_usage({"S" * 16: Usage(2, T0 + timedelta(hours=2)), "Z" * 16: Usage(1, T0)})
    store.record_usage({"S" * 16: Usage(5, T0 + timedelta(hours=1))})
    store.record_usage({})
    got = store.get_secret("S" * 16)
    assert got is not None
    assert got.secret.usage_count == 7
    assert got.secret.last_used_at == T0 + timedelta(hours=2)


def test_usage_keeps_the_highest_credit_count_of_a_period(store: Store) -> None:
    """A flush carries each node's latest credit counter: the store keeps the highest
    within a period and starts over in a new one; plain and metered rows in one batch."""
    other = dataclasses.replace(secret(), secret_id="M" * 16)
    with store.transaction() as tx:
        tx.insert_client(client())
        tx.insert_secret(StoredSecret(secret(), "h"))
        tx.insert_secret(StoredSecret(other, "h"))
    later = T0 + timedelta(minutes=1)
    store.record_usage(
        {"S" * 16: Usage(1, T0), "M" * 16: Usage(3, T0, credits_period="p1", credits_used=7)}
    )
    store.record_usage({"M" * 16: Usage(1, later, credits_period="p1", credits_used=5)})
    got = store.get_secret("M" * 16)
    assert got is not None
    assert (got.secret.usage_count, got.secret.credits_used) == (4, 7)
    assert got.secret.credits_period == "p1" and got.secret.last_used_at == later
    store.record_usage({"M" * 16: Usage(1, later, credits_period="p2", credits_used=2)})
    got = store.get_secret("M" * 16)
    assert got is not None
    assert (got.secret.credits_period, got.secret.credits_used) == ("p2", 2)
    plain = store.get_secret("S" * 16)
    assert plain is not None and plain.secret.usage_count == 1 and plain.secret.credits_used == 0


def test_audit_is_ordered_and_paged(store: Store) -> None:
    assert store.last_audit_id() == 0
    with store.transaction() as tx:
        for i in range(5):
            tx.append_audit(event(target=f"t{i}"))
    events = store.list_audit()
    assert [e.id for e in events] == sorted(e.id for e in events if e.id is not None)
    assert [e.target_id for e in events] == [f"t{i}" for i in range(5)]
    assert events[0].after == {"x": 1} and events[0].at == T0
    assert store.last_audit_id() == events[-1].id
    assert [e.target_id for e in store.list_audit(after_id=events[1].id or 0, limit=2)] == [
        "t2",
        "t3",
    ]
    assert [e.target_id for e in store.list_audit(target_id="t4")] == ["t4"]


def test_delete_all(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_client(client())
        tx.insert_secret(StoredSecret(secret(), "h"))
        tx.append_audit(event())
    store.delete_all()
    assert store.get_client("c1") is None and store.list_audit() == []


# -- leaks and the audit chain (issue 14) ----------------------------------------------------
def test_get_secrets_reads_many_at_once(store: Store) -> None:
    ids = [f"{i:016d}" for i in range(600)]  # more than one chunk of bound parameters
    with store.transaction() as tx:
        tx.insert_client(client())
        for ident in ids:
            tx.insert_secret(StoredSecret(secret(ident), f"h{ident}"))
    found = store.get_secrets([*ids[::2], "N" * 16, ids[0]])
    assert sorted(s.secret.secret_id for s in found) == sorted(ids[::2])
    assert {s.hash for s in found} == {f"h{i}" for i in ids[::2]}
    assert all(s.secret.scopes == ("a:b", "c:*") for s in found)
    assert store.get_secrets([]) == []


def test_revoke_secrets_writes_only_the_revocation(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_client(client())
        tx.insert_secret(StoredSecret(secret("S" * 16), "h1"))
        tx.insert_secret(StoredSecret(secret("T" * 16, scopes=("x:y",)), "h2"))
    store.record_usage({"S" * 16: Usage(3, T0)})
    stale = secret("S" * 16, scopes=("changed:meanwhile",), revoked_at=T0, revoked_reason="leak")
    with store.transaction() as tx:
        tx.revoke_secrets([stale, secret("T" * 16, revoked_at=T0, revoked_reason="leak 2")])
    first, second = store.get_secret("S" * 16), store.get_secret("T" * 16)
    assert first is not None and second is not None
    assert (first.secret.revoked_at, first.secret.revoked_reason) == (T0, "leak")
    assert first.secret.scopes == ("a:b", "c:*") and first.secret.usage_count == 3
    assert first.hash == "h1"
    assert (second.secret.revoked_reason, second.secret.scopes) == ("leak 2", ("x:y",))


def test_revoking_a_missing_secret_fails_and_leaves_nothing(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_client(client())
        tx.insert_secret(StoredSecret(secret("S" * 16), "h1"))
    with pytest.raises(SecretNotFound), store.transaction() as tx:
        tx.revoke_secrets([secret("S" * 16, revoked_at=T0), secret("N" * 16, revoked_at=T0)])
    got = store.get_secret("S" * 16)
    assert got is not None and got.secret.revoked_at is None


def test_appended_events_are_sealed_into_a_chain(store: Store) -> None:
    from keyhive.core.audit_chain import seal

    assert store.audit_head() is None and store.audit_chain() == []
    with store.transaction() as tx:
        for i in range(3):
            tx.append_audit(event(target=f"t{i}"))
    with store.transaction() as tx:
        tx.append_audit(event(target="t3"))
    chain = store.audit_chain()
    assert [c.event.target_id for c in chain] == ["t0", "t1", "t2", "t3"]
    assert chain[0].prev_hash is None
    for before, after in itertools.pairwise(chain):
        assert after.prev_hash == before.hash
    for link in chain:
        assert link.hash == seal(link.event, link.prev_hash)
    assert store.audit_head() == chain[-1]
    assert store.audit_chain(after_id=chain[1].id, limit=1) == [chain[2]]
    assert [e.id for e in store.list_audit()] == [c.id for c in chain]


def test_a_rolled_back_append_leaves_the_chain_whole(store: Store) -> None:
    with store.transaction() as tx:
        tx.append_audit(event(target="kept"))
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.append_audit(event(target="gone"))
        raise RuntimeError("abort")
    with store.transaction() as tx:
        tx.append_audit(event(target="next"))
    first, second = store.audit_chain()
    assert [first.event.target_id, second.event.target_id] == ["kept", "next"]
    assert second.prev_hash == first.hash


def test_lock_secrets_reads_many_and_leaves_out_missing_ids(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_client(client())
        for i in range(3):
            tx.insert_secret(StoredSecret(secret(f"{i}" * 16), "hash", None))
    wanted = ["0" * 16, "2" * 16, "9" * 16, "0" * 16]
    with store.transaction() as tx:
        locked = tx.lock_secrets(wanted)
    assert sorted(locked) == ["0" * 16, "2" * 16]
    assert locked["2" * 16] == store.get_secret("2" * 16)
    with store.transaction() as tx:
        assert tx.lock_secrets([]) == {}
