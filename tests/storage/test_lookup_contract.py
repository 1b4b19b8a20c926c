"""Store.read_lookup: one read of everything a first verification needs, on every store.

The SQL stores must also do the same work for a lookup nobody holds as for one that
exists: the same statements, in the same order, on one connection (issue 9: the time of
a first refusal must not tell whether a public secret id is real).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from keyhive.core.model import Client, Role, Secret, StoredSecret
from keyhive.core.quotas import RateLimit
from keyhive.storage import Store
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


@pytest.fixture
def statements(store: Store) -> Iterator[list[str]]:
    if not isinstance(store, SqlStore):
        pytest.skip("the memory store has no statements to count")
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", note)
    yield seen
    sa.event.remove(store.engine, "before_cursor_execute", note)


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
