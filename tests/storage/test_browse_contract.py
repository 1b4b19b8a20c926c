"""The Store contract for usage buckets and browsing queries, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from keyhive.core.model import AuditEvent, Client, Code, Secret, StoredSecret
from keyhive.storage import Store, Usage

T0 = datetime(2030, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)


def _client(ident: str, name: str, owner: str | None = None, enabled: bool = True) -> Client:
    return Client(ident, name, owner, {}, enabled, T0)


def _secret(ident: str, client_id: str = "c1", **kw: object) -> StoredSecret:
    base = Secret(ident * 16 if len(ident) == 1 else ident, client_id, None, (), "kh", T0)
    return StoredSecret(dataclasses.replace(base, **kw), "$x$")  # type: ignore[arg-type]


def _setup(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_client(_client("c1", "Acme Reports", "team-7"))
        tx.insert_client(_client("c2", "beta_100%", None, enabled=False))
        tx.insert_client(_client("c3", "Zeta", "TEAM-9"))
        tx.insert_secret(_secret("A"))
        tx.insert_secret(_secret("B", revoked_at=T0 + H))
        tx.insert_secret(_secret("C", expires_at=T0 + 48 * H))
        tx.insert_secret(_secret("D", client_id="c2", expires_at=T0 + 400 * H))
        tx.insert_secret(_secret("E", client_id="c3", expires_at=T0 - H))


def test_usage_buckets_add_up_and_read_back_grouped(store: Store) -> None:
    _setup(store)
    a, c, d = "A" * 16, "C" * 16, "D" * 16
    store.record_usage(
        {
            a: Usage(2, T0 + H, codes={(T0, Code.VALID): 2, (T0 + H, Code.REVOKED): 1}),
            d: Usage(0, None, codes={(T0, Code.DISABLED): 4}),
        }
    )
    store.record_usage(
        {a: Usage(1, T0, codes={(T0, Code.VALID): 1}), c: Usage(1, T0, codes={(T0, Code.VALID): 5})}
    )
    rows = {(r.hour, r.code): r.count for r in store.usage_rows(since=T0, secret_id=a)}
    assert rows == {(T0, Code.VALID): 3, (T0 + H, Code.REVOKED): 1}
    client = {(r.hour, r.code): r.count for r in store.usage_rows(since=T0, client_id="c1")}
    assert client == {(T0, Code.VALID): 8, (T0 + H, Code.REVOKED): 1}
    everyone = {(r.hour, r.code): r.count for r in store.usage_rows(since=T0)}
    assert everyone[(T0, Code.DISABLED)] == 4
    later = store.usage_rows(since=T0 + H)
    assert [(r.code, r.count) for r in later] == [(Code.REVOKED, 1)]
    split = {
        (r.secret_id, r.code): r.count
        for r in store.usage_rows(since=T0, client_id="c1", per_secret=True)
    }
    assert split == {(a, Code.VALID): 3, (a, Code.REVOKED): 1, (c, Code.VALID): 5}
    # A refusals-only batch leaves usage_count and last_used_at alone.
    stored = store.get_secret(d)
    assert (
        stored is not None and stored.secret.usage_count == 0 and stored.secret.last_used_at is None
    )
    assert store.prune_usage(T0 + H) == 3
    assert [(r.hour, r.count) for r in store.usage_rows(since=T0 - 100 * H)] == [(T0 + H, 1)]


def test_a_batch_for_an_unknown_secret_does_not_fail(store: Store) -> None:
    _setup(store)
    store.record_usage({"Z" * 16: Usage(1, T0, codes={(T0, Code.VALID): 1})})
    assert store.get_secret("Z" * 16) is None


def test_search_clients_by_name_owner_or_id_and_state(store: Store) -> None:
    _setup(store)

    def names(**kw: object) -> tuple[list[str], int]:
        found, total = store.search_clients(**kw)  # type: ignore[arg-type]
        return [c.name for c in found], total

    assert names() == (["Acme Reports", "Zeta", "beta_100%"], 3)
    assert names(text="team") == (["Acme Reports", "Zeta"], 2)
    assert names(text="REPORT") == (["Acme Reports"], 1)
    assert names(text="c3") == (["Zeta"], 1)
    assert names(text="100%") == (["beta_100%"], 1)
    assert names(text="%") == (["beta_100%"], 1)  # a literal percent, not a wildcard
    assert names(text="a_1") == (["beta_100%"], 1)
    assert names(text="_") == (["beta_100%"], 1)
    assert names(enabled=False) == (["beta_100%"], 1)
    assert names(enabled=True, limit=1) == (["Acme Reports"], 2)
    assert names(enabled=True, limit=1, offset=1) == (["Zeta"], 2)


def test_counts_and_expiring_secrets(store: Store) -> None:
    _setup(store)
    now = T0 + 2 * H  # B is revoked by now, E expired
    assert store.count_active_secrets(now) == 3
    soon = store.expiring_secrets(now=now, until=now + 7 * 24 * H)
    assert [s.secret_id for s in soon] == ["C" * 16]
    assert [s.secret_id for s in store.expiring_secrets(now=now, until=now + 500 * H)] == [
        "C" * 16,
        "D" * 16,
    ]
    assert store.expiring_secrets(now=now, until=now + 500 * H, limit=1)[0].secret_id == "C" * 16


def test_search_audit_filters_newest_first(store: Store) -> None:
    _setup(store)
    with store.transaction() as tx:
        for n, (actor, action, target) in enumerate(
            [
                ("adm1", "client.create", "c1"),
                ("adm2", "secret.revoke", "A" * 16),
                ("adm1", "secret.revoke", "B" * 16),
            ]
        ):
            tx.append_audit(AuditEvent(None, T0 + n * H, actor, action, "x", target))
    ids = lambda **kw: [e.target_id for e in store.search_audit(**kw)]  # noqa: E731
    assert ids() == ["B" * 16, "A" * 16, "c1"]
    assert ids(actor="adm1") == ["B" * 16, "c1"]
    assert ids(action="secret.revoke") == ["B" * 16, "A" * 16]
    assert ids(target_id="c1") == ["c1"]
    assert ids(since=T0 + H) == ["B" * 16, "A" * 16]
    assert ids(until=T0 + H) == ["c1"]
    newest = store.search_audit(limit=1)[0]
    assert newest.id is not None
    assert ids(before_id=newest.id) == ["A" * 16, "c1"]
