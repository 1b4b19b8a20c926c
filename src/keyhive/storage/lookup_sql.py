"""One verification's read: a lookup's secrets, their client, owner and roles, in SQL.

A verifier that has not seen a credential's lookup yet reads it here, once. The same
six queries run whatever the store holds, each keyed by the lookup itself rather than by
what an earlier query found: an id nobody holds costs the store the same round trips as
a secret that exists, so the time of a first refusal does not tell whether the id was
real (issue 9). A secret id nobody holds goes further: it reads a real secret's row and
client in its place (a decoy), decodes them and drops them, so even the rows the driver
hands back are the same in number and shape. Everything runs on one connection, in one
read transaction.

This is the one read that bypasses SQLAlchemy's execution layer: a restarted node and a
guess at a new id both pay it, and measured on SQLite SQLAlchemy's per-statement
machinery cost 560 µs for the six statements where the DBAPI cursor takes 70 µs. The
statements are still SQLAlchemy expressions, compiled once per dialect, and each column
is decoded by its own SQLAlchemy type's result processor, so the rows read here equal
those of every other read (tests/storage/test_lookup_contract.py checks it).
"""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from keyhive.core.model import Client, Secret, StoredSecret
from keyhive.core.quotas import limits_from_json
from keyhive.storage import plans_sql
from keyhive.storage import schema as t
from keyhive.storage._protocol import LookupRecord

_S = t.secrets.c


def client_from_row(row: Any) -> Client:
    """A ``clients`` row as a Client."""
    return Client(
        client_id=row.client_id,
        name=row.name,
        owner=row.owner,
        metadata=row.metadata or {},
        enabled=bool(row.enabled),
        created_at=row.created_at,
    )


def stored_secret(
    row: Any, scopes: Mapping[str, Sequence[str]], roles: Mapping[str, Sequence[str]]
) -> StoredSecret:
    """A ``secrets`` row with its scopes and roles (read beside it) as a StoredSecret."""
    return StoredSecret(
        Secret(
            secret_id=row.secret_id,
            client_id=row.client_id,
            name=row.name,
            scopes=tuple(sorted(scopes.get(row.secret_id, ()))),
            prefix=row.prefix,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            revoked_reason=row.revoked_reason,
            last_used_at=row.last_used_at,
            usage_count=row.usage_count,
            rotated_from=row.rotated_from,
            replaced_by=row.replaced_by,
            rate_limits=limits_from_json(row.rate_limits),
            credits=row.credits,
            refill=row.refill,
            credits_set_at=row.credits_set_at,
            credits_used=row.credits_used or 0,
            credits_period=row.credits_period,
            allowed_ips=tuple(row.allowed_ips or ()),
            roles=tuple(sorted(roles.get(row.secret_id, ()))),
            legacy_id=row.legacy_id,
        ),
        row.hash,
        row.digest,
    )


class _Statements(NamedTuple):
    client: Any
    secrets: Any
    scopes: Any
    roles: Any
    owner: Any
    role_rows: Any


@functools.cache
def _statements(kind: str) -> _Statements:
    """The six statements of one lookup kind, built once and keyed by the ``ident`` bind
    parameter (and, for a secret id, ``decoy``: see :class:`LookupReader`)."""
    ident = sa.bindparam("ident", type_=sa.String)
    clients, links, grants = t.clients.c, t.secret_roles.c, t.secret_scopes.c
    where: sa.ColumnElement[bool]
    order: tuple[Any, ...] = (_S.created_at, _S.secret_id)
    limit: Any = None
    offset: Any = None
    if kind == "c":
        where = (_S.client_id == ident) & _S.prefix.is_(None) & _S.legacy_id.is_(None)
        client_id: Any = ident
    elif kind == "s":
        # The secret, or failing that the decoy: one row either way (see LookupReader).
        decoy = sa.bindparam("decoy", type_=sa.String)
        where = _S.secret_id.in_([ident, decoy])
        # A literal LIMIT (and the OFFSET SQLite's dialect adds to it): the lookup's own
        # ids stay the statement's only parameters.
        order = ((_S.secret_id == ident).desc(),)
        limit, offset = sa.literal_column("1"), sa.literal_column("0")

        def client_of(secret_id: Any) -> Any:
            return sa.select(_S.client_id).where(_S.secret_id == secret_id).scalar_subquery()

        client_id = sa.func.coalesce(client_of(ident), client_of(decoy))
    elif kind == "l":
        where = _S.legacy_id == ident
        # An id nobody holds still searches the clients index (for the id itself, which
        # names no client), as a real one does for its client: the same index descents.
        client_id = sa.func.coalesce(sa.select(_S.client_id).where(where).scalar_subquery(), ident)
    else:
        raise ValueError(f"unknown lookup kind: {kind!r}")
    held_by: Any
    if kind == "s":  # scopes and roles are keyed by the secret id itself: searched either way
        scoped, held_by = grants.secret_id == ident, links.secret_id == ident
    else:
        ids = sa.select(_S.secret_id).where(where)
        scoped, held_by = grants.secret_id.in_(ids), links.secret_id.in_(ids)
    owner_of = sa.select(clients.owner).where(clients.client_id == client_id).scalar_subquery()
    held = sa.select(links.role).where(held_by)
    return _Statements(
        client=sa.select(t.clients).where(clients.client_id == client_id),
        secrets=sa.select(t.secrets).where(where).order_by(*order).limit(limit).offset(offset),
        scopes=sa.select(grants.secret_id, grants.scope).where(scoped),
        roles=sa.select(links.secret_id, links.role).where(held_by),
        owner=sa.select(t.owners).where(t.owners.c.owner == owner_of),
        role_rows=sa.select(t.roles).where(t.roles.c.name.in_(held)),
    )


class _Query:
    """One statement compiled for one dialect, with what turns its raw rows into rows
    like SQLAlchemy's (attribute access, each value through its type's processor)."""

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        #: The bind parameters' names: in order of their places for a positional
        #: paramstyle (a name may recur), else once each.
        self._positional = bool(compiled.positional)
        self._names = (
            tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.params)
        )
        unknown = set(self._names) - {"ident", "decoy"}
        assert not unknown, f"a lookup statement binds only its ids, not {unknown}"
        columns = list(statement.selected_columns)
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        #: Only the columns whose type decodes anything. Every processor maps None to
        #: None, so a NULL is left as it is without a call.
        self._decoders = tuple((i, p) for i, p in enumerate(processors) if p is not None)
        self._row: Any = namedtuple("_Row", [column.key for column in columns])  # type: ignore[misc]

    def params(self, values: Mapping[str, str]) -> tuple[str, ...] | dict[str, str]:
        if self._positional:
            return tuple(values[name] for name in self._names)
        return {name: values[name] for name in self._names}

    def rows(self, raw: list[Any]) -> list[Any]:
        make, decoders = self._row._make, self._decoders
        decoded = []
        for row in raw:
            values = list(row)
            for i, process in decoders:
                value = values[i]
                if value is not None:
                    values[i] = process(value)
            decoded.append(make(values))
        return decoded


class LookupReader:
    """Runs a lookup's six statements on a DBAPI connection, compiled for its dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        #: SQLite needs its read transaction begun explicitly (keyhive turns off the
        #: sqlite3 module's own); PostgreSQL's driver begins one with the first statement.
        self._begin = dialect.name == "sqlite"
        self._queries: dict[str, tuple[_Query, ...]] = {}
        #: A secret id that was read and found: a secret id nobody holds reads this
        #: secret's row and client instead, decodes them as a real lookup would, and
        #: drops them, so the store does the same work and returns rows of the same
        #: shape whether or not the id is real (issue 9: the time of a first refusal
        #: must not tell). None until a secret is found, or after the decoy is gone.
        self._decoy: str | None = None
        #: Raw rows of the last client and secret read (hash and digest blanked): what
        #: any other lookup nobody holds decodes instead (a client id or an imported
        #: handle, or a secret id while there is no decoy).
        self._stand_in: tuple[Any, Any, tuple[str, str]] | None = None

    def _prepared(self, kind: str) -> tuple[_Query, ...]:
        found = self._queries.get(kind)
        if found is None:
            found = self._queries[kind] = tuple(
                _Query(statement, self._dialect) for statement in _statements(kind)
            )
        return found

    def read(self, connection: Any, kind: str, ident: str) -> LookupRecord:
        """What the store holds for a lookup: ``s`` a secret id, ``l`` an imported key's
        handle, ``c`` a client id (its secrets presented with a client_id: no prefix, not
        imported from another library). ``connection`` is a DBAPI connection (the pool's,
        or on SQLite this thread's own); the read transaction is rolled back before this
        returns."""
        client_q, secrets_q, scopes_q, roles_q, owner_q, role_rows_q = self._prepared(kind)
        values = {"ident": ident, "decoy": self._decoy or ident}
        cursor = connection.cursor()
        try:
            if self._begin:
                cursor.execute("BEGIN")
            client_raw = fetch(cursor, client_q.sql, client_q.params(values))
            secrets_raw = fetch(cursor, secrets_q.sql, secrets_q.params(values))
            scope_pairs = fetch(cursor, scopes_q.sql, scopes_q.params(values))
            roles = _grouped(fetch(cursor, roles_q.sql, roles_q.params(values)))
            owner_rows = owner_q.rows(fetch(cursor, owner_q.sql, owner_q.params(values)))
            role_rows = role_rows_q.rows(fetch(cursor, role_rows_q.sql, role_rows_q.params(values)))
        finally:
            cursor.close()
            connection.rollback()
        client_rows = client_q.rows(client_raw)
        rows = secrets_q.rows(secrets_raw)
        scopes = _grouped(scope_pairs)
        decoyed = kind == "s" and bool(rows) and rows[0].secret_id != ident
        if kind == "s":
            if not rows:
                self._decoy = None  # the id is unknown and the decoy is gone (or unset)
            elif self._decoy is None:
                self._decoy = ident
        if not client_rows:
            if self._stand_in is not None:
                self._decode_stand_in(client_q, secrets_q)
        elif rows and self._stand_in is None and not decoyed:
            blank = tuple(
                "" if key in ("hash", "digest") else value
                for key, value in zip(rows[0]._fields, secrets_raw[0], strict=True)
            )
            pair = scope_pairs[0] if scope_pairs else (rows[0].secret_id, "")
            self._stand_in = (client_raw[0], blank, (pair[0], pair[1]))
        record = LookupRecord(
            client=client_from_row(client_rows[0]) if client_rows else None,
            secrets=[stored_secret(row, scopes, roles) for row in rows],
            owner=plans_sql.owner_from_row(owner_rows[0]) if owner_rows else None,
            roles={row.name: plans_sql.role_from_row(row) for row in role_rows},
        )
        return LookupRecord(None, [], None, {}) if decoyed else record

    def _decode_stand_in(self, client_q: _Query, secrets_q: _Query) -> None:
        """Decode and build the remembered rows, and drop them: the work a lookup that
        found a client and a secret does, for one that found nothing (issue 9: the time
        of a first refusal must not tell whether the id was real)."""
        assert self._stand_in is not None
        client_raw, secret_raw, scope_pair = self._stand_in
        client_from_row(client_q.rows([client_raw])[0])
        stored_secret(secrets_q.rows([secret_raw])[0], _grouped([scope_pair]), {})


def fetch(cursor: Any, sql: str, params: tuple[str, ...] | dict[str, str]) -> list[Any]:
    """Run one statement and take all its rows (one place, so a test can count them)."""
    cursor.execute(sql, params)
    return list(cursor.fetchall())


def _grouped(pairs: list[Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, value in pairs:
        found.setdefault(key, []).append(value)
    return found
