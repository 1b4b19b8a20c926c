"""The Store contract: every implementation must pass the same tests."""

from __future__ import annotations

import dataclasses
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
