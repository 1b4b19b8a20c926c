"""The portal sessions part of the Store contract, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from keyhive.core.errors import IdTaken
from keyhive.core.model import Client, Secret, StoredSecret
from keyhive.core.portal import PortalSession, code_digest
from keyhive.storage import Store

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def session(ident: str, *, owner: str = "ada", minutes: int = 15) -> PortalSession:
    return PortalSession(
        session_id=ident,
        owner=owner,
        allowed_scopes=("articles:read", "users:read"),
        max_secrets=3,
        return_url="https://app.example/account",
        created_by="AAAAAAAAAAAAAAAA",
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=minutes),
    )


def test_a_session_reads_back_as_written(store: Store) -> None:
    written = session("s1")
    with store.transaction() as tx:
        tx.insert_portal_session(written, code_digest("c" * 43))
    assert store.get_portal_session("s1") == written
    assert store.get_portal_session("s2") is None


def test_ids_and_codes_are_unique(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_portal_session(session("s1"), code_digest("c" * 43))
    for ident, code in (("s1", "d" * 43), ("s2", "c" * 43)):
        with pytest.raises(IdTaken), store.transaction() as tx:
            tx.insert_portal_session(session(ident), code_digest(code))
    assert store.get_portal_session("s2") is None


def test_a_code_is_claimed_once_and_only_before_expiry(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_portal_session(session("s1"), code_digest("a" * 43))
        tx.insert_portal_session(session("s2", minutes=1), code_digest("b" * 43))
    at = NOW + timedelta(minutes=2)
    with store.transaction() as tx:
        opened = tx.claim_portal_code(code_digest("a" * 43), at)
        assert tx.claim_portal_code(code_digest("b" * 43), at) is None  # expired
        assert tx.claim_portal_code(code_digest("z" * 43), at) is None  # unknown
    assert opened is not None and opened.opened_at == at and opened.session_id == "s1"
    with store.transaction() as tx:
        assert tx.claim_portal_code(code_digest("a" * 43), at) is None  # used
    assert store.get_portal_session("s1") == opened


def test_a_failed_transaction_leaves_the_code_unclaimed(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_portal_session(session("s1"), code_digest("a" * 43))
    with pytest.raises(RuntimeError), store.transaction() as tx:
        assert tx.claim_portal_code(code_digest("a" * 43), NOW) is not None
        raise RuntimeError("rolled back")
    with store.transaction() as tx:
        assert tx.claim_portal_code(code_digest("a" * 43), NOW) is not None


def test_racing_claims_open_a_session_once(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_portal_session(session("s1"), code_digest("a" * 43))
    barrier = threading.Barrier(6)
    won: list[bool] = []

    def claim() -> None:
        barrier.wait()
        with store.transaction() as tx:
            won.append(tx.claim_portal_code(code_digest("a" * 43), NOW) is not None)

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(won) == [False] * 5 + [True]


def test_expired_sessions_are_deleted(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_portal_session(session("old", minutes=1), code_digest("a" * 43))
        tx.insert_portal_session(session("new", minutes=30), code_digest("b" * 43))
    with store.transaction() as tx:
        assert tx.delete_portal_sessions(expired_before=NOW + timedelta(minutes=10)) == 1
    assert store.get_portal_session("old") is None
    assert store.get_portal_session("new") is not None
    with store.transaction() as tx:  # its code went with it
        tx.insert_portal_session(session("again"), code_digest("a" * 43))


def _client(ident: str, owner: str | None) -> Client:
    return Client(ident, ident, owner, {}, True, NOW)


def _secret(ident: str, client_id: str) -> StoredSecret:
    secret = Secret(ident, client_id, None, ("a:b",), "kh", NOW, None)
    return StoredSecret(secret, "$scrypt$stand-in", None)


def test_lock_owner_keys_reads_the_owners_clients_and_secrets(store: Store) -> None:
    with store.transaction() as tx:
        for ident, owner in (("c1", "ada"), ("c2", "ada"), ("c3", "bob"), ("c4", None)):
            tx.insert_client(_client(ident, owner))
        for ident, client in (
            ("s111111111111111", "c1"),
            ("s222222222222222", "c2"),
            ("s333333333333333", "c3"),
        ):
            tx.insert_secret(_secret(ident, client))
    with store.transaction() as tx:
        clients, secrets = tx.lock_owner_keys("ada")
        assert [c.client_id for c in clients] == ["c1", "c2"]
        assert sorted(s.secret_id for s in secrets) == ["s111111111111111", "s222222222222222"]
        assert tx.lock_owner_keys("nobody") == ([], [])
