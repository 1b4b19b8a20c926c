"""Store.read_lookup: one read of everything a first verification needs, on every store.

The SQL stores must also do the same work for a lookup nobody holds as for one that
exists: the same statements, in the same order, on one connection (issue 9: the time of
a first refusal must not tell whether a public secret id is real).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from keyhive.core.model import Client, Role, Secret, StoredSecret
from keyhive.core.quotas import RateLimit
from keyhive.storage import Store, lookup_sql
from keyhive.storage.sql import SqlStore

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _seed(store: Store) -> None:
    """A client owned by a metered owner, holding a token secret with a role, a pair
    secret (no prefix) and an imported key; another client's secret beside them."""
    with store.transaction() as tx:
        tx.insert_role(Role("reader", ("docs:read", "files:read"), None, T0, T0))
        tx.insert_role(Role("unused", ("x:y",), None, T0, T0))
        tx.save_owner("acme", {"credits": 10, "rate_limits": (RateLimit.parse("5/second"),)}, T0)
        tx.insert_client(Client("c1", "one", "acme", {}, True, T0))
        tx.insert_client(Client("c2", "two", None, {}, True, T0))
        base = Secret("S" * 16, "c1", "token", ("a:b",), "kh", T0, roles=("reader",))
        tx.insert_secret(StoredSecret(base, "hash-1", "digest-1"))
        pair = dataclasses.replace(base, secret_id="P" * 16, prefix=None, roles=())
        tx.insert_secret(StoredSecret(pair, "hash-2", None))
        legacy = dataclasses.replace(pair, secret_id="L" * 16, legacy_id="drf:abc")
        tx.insert_secret(StoredSecret(legacy, "hash-3", None))
        other = dataclasses.replace(base, secret_id="O" * 16, client_id="c2", roles=())
        tx.insert_secret(StoredSecret(other, "hash-4", None))


def test_a_secret_id_reads_its_secret_client_owner_and_roles(store: Store) -> None:
    _seed(store)
    record = store.read_lookup("s", "S" * 16)
    assert record.client is not None and record.client.client_id == "c1"
    assert [s.secret.secret_id for s in record.secrets] == ["S" * 16]
    [stored] = record.secrets
    assert stored == store.get_secret("S" * 16)
    assert record.owner is not None and record.owner.credits == 10
    assert set(record.roles) == {"reader"}
    assert record.roles["reader"].scopes == ("docs:read", "files:read")


def test_a_client_id_reads_only_the_secrets_presented_with_it(store: Store) -> None:
    _seed(store)
    record = store.read_lookup("c", "c1")
    assert record.client is not None and record.client.client_id == "c1"
    assert [s.secret.secret_id for s in record.secrets] == ["P" * 16]
    assert record.roles == {}


def test_an_imported_handle_reads_that_key(store: Store) -> None:
    _seed(store)
    record = store.read_lookup("l", "drf:abc")
    assert [s.secret.secret_id for s in record.secrets] == ["L" * 16]
    assert record.client is not None and record.client.client_id == "c1"


def test_nothing_for_what_nobody_holds(store: Store) -> None:
    _seed(store)
    for kind, ident in (("s", "Z" * 16), ("c", "nobody"), ("l", "drf:zzz")):
        record = store.read_lookup(kind, ident)
        assert record.client is None and record.secrets == [] and record.owner is None
        assert record.roles == {}
    other = store.read_lookup("s", "O" * 16)
    assert other.owner is None and other.roles == {}
    with pytest.raises(ValueError, match="unknown lookup kind"):
        store.read_lookup("x", "S" * 16)


def test_every_part_reads_as_the_ordinary_reads_do(store: Store) -> None:
    """The lookup decodes its rows itself (on the DBAPI cursor, for SQL stores): each
    part must equal what the store's ordinary reads return."""
    _seed(store)
    record = store.read_lookup("s", "S" * 16)
    assert record.client == store.get_client("c1")
    assert record.owner == store.get_owner("acme")
    assert record.roles == store.get_roles(["reader"])
    pair = store.read_lookup("c", "c1")
    assert pair.secrets == [store.get_secret("P" * 16)]


@pytest.fixture
def statements(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements a lookup runs, as its reader sends them to the driver."""
    if not isinstance(store, SqlStore):
        pytest.skip("the memory store has no statements to count")
    seen: list[str] = []
    run = lookup_sql.fetch

    def note(cursor: Any, sql: str, params: Any) -> list[Any]:
        seen.append(sql)
        return run(cursor, sql, params)

    monkeypatch.setattr(lookup_sql, "fetch", note)
    return seen


def test_a_real_id_and_an_unknown_one_cost_the_same_statements(
    store: Store, statements: list[str]
) -> None:
    _seed(store)
    for kind, real, unknown in (("s", "S" * 16, "Z" * 16), ("c", "c1", "nobody")):
        statements.clear()
        store.read_lookup(kind, real)
        known = list(statements)
        statements.clear()
        store.read_lookup(kind, unknown)
        assert statements == known
        assert len(known) >= 5  # secrets, client, scopes, roles, owner and roles' scopes


def test_an_unknown_id_decodes_a_stand_in_and_returns_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoding a found client and secret is most of a first read's work after the
    queries; a lookup that found nothing decodes remembered rows of the same shape, so
    it costs the same, and still answers nothing."""
    if not isinstance(store, SqlStore):
        pytest.skip("the memory store decodes nothing")
    _seed(store)
    built: list[str] = []
    for name in ("client_from_row", "stored_secret"):
        real = getattr(lookup_sql, name)

        def counted(*args: Any, _real: Any = real, _name: str = name) -> Any:
            built.append(_name)
            return _real(*args)

        monkeypatch.setattr(lookup_sql, name, counted)
    store.read_lookup("s", "S" * 16)
    known = sorted(built)
    built.clear()
    record = store.read_lookup("s", "Z" * 16)
    assert sorted(built) == known == ["client_from_row", "stored_secret"]
    assert record.client is None and record.secrets == [] and record.owner is None


def test_an_unknown_secret_id_reads_rows_of_a_real_ones_shape_and_returns_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a secret has been found, a secret id nobody holds reads that secret's row
    and client in its place (the decoy), so the driver hands back as many rows of each
    kind as for a real id; the decoy's rows are dropped, never returned."""
    if not isinstance(store, SqlStore):
        pytest.skip("the memory store reads no rows")
    _seed(store)
    counts: list[int] = []
    run = lookup_sql.fetch

    def counted(cursor: Any, sql: str, params: Any) -> list[Any]:
        rows = run(cursor, sql, params)
        counts.append(len(rows))
        return rows

    monkeypatch.setattr(lookup_sql, "fetch", counted)
    store.read_lookup("s", "O" * 16)  # found: becomes the decoy
    counts.clear()
    real = store.read_lookup("s", "S" * 16)
    real_counts = list(counts)
    counts.clear()
    unknown = store.read_lookup("s", "Z" * 16)
    assert counts[:2] == real_counts[:2] == [1, 1]  # the client row, the secret row
    assert unknown == (None, [], None, {})
    assert real.client is not None and [s.secret.secret_id for s in real.secrets] == ["S" * 16]
    # The decoy itself, and a real id after an unknown one, read as themselves.
    decoy = store.read_lookup("s", "O" * 16)
    assert decoy.client is not None and decoy.client.client_id == "c2"
    assert [s.secret.secret_id for s in decoy.secrets] == ["O" * 16]
    assert store.read_lookup("s", "S" * 16) == real


def test_when_the_decoy_is_gone_an_unknown_id_still_returns_nothing(store: Store) -> None:
    if not isinstance(store, SqlStore):
        pytest.skip("the memory store has no decoy")
    _seed(store)
    assert store.read_lookup("s", "S" * 16).client is not None
    store.delete_all()
    assert store.read_lookup("s", "Z" * 16) == (None, [], None, {})
    assert store.read_lookup("s", "S" * 16) == (None, [], None, {})
    _seed(store)
    found = store.read_lookup("s", "P" * 16)
    assert [s.secret.secret_id for s in found.secrets] == ["P" * 16]
    assert store.read_lookup("s", "Z" * 16) == (None, [], None, {})
