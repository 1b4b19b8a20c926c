"""One verification's read: a lookup's secrets, their client, owner and roles, in SQL.

A verifier that has not seen a credential's lookup yet reads it here, once. The same
six queries run whatever the store holds, each keyed by the lookup itself rather than by
what an earlier query found: an id nobody holds costs the store the same round trips as
a secret that exists, so the time of a first refusal does not tell whether the id was
real (issue 9). Everything runs on one connection.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

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


def _pairs(conn: Connection, query: Any, bound: Mapping[str, str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, value in conn.execute(query, bound):
        found.setdefault(key, []).append(value)
    return found


class _Statements(NamedTuple):
    client: Any
    secrets: Any
    scopes: Any
    roles: Any
    owner: Any
    role_rows: Any


@functools.cache
def _statements(kind: str) -> _Statements:
    """The six statements of one lookup kind, built once: keyed by the ``ident`` bind
    parameter, so a read only binds it (building SQLAlchemy expressions per call cost
    more than running the queries)."""
    ident = sa.bindparam("ident", type_=sa.String)
    where: sa.ColumnElement[bool]
    if kind == "c":
        where = (_S.client_id == ident) & _S.prefix.is_(None) & _S.legacy_id.is_(None)
        client_id: Any = ident
    elif kind in ("s", "l"):
        where = _S.secret_id == ident if kind == "s" else _S.legacy_id == ident
        client_id = sa.select(_S.client_id).where(where).scalar_subquery()
    else:
        raise ValueError(f"unknown lookup kind: {kind!r}")
    ids = sa.select(_S.secret_id).where(where)
    clients, links, grants = t.clients.c, t.secret_roles.c, t.secret_scopes.c
    owner_of = sa.select(clients.owner).where(clients.client_id == client_id).scalar_subquery()
    held = sa.select(links.role).where(links.secret_id.in_(ids))
    return _Statements(
        client=sa.select(t.clients).where(clients.client_id == client_id),
        secrets=sa.select(t.secrets).where(where).order_by(_S.created_at, _S.secret_id),
        scopes=sa.select(grants.secret_id, grants.scope).where(grants.secret_id.in_(ids)),
        roles=sa.select(links.secret_id, links.role).where(links.secret_id.in_(ids)),
        owner=sa.select(t.owners).where(t.owners.c.owner == owner_of),
        role_rows=sa.select(t.roles).where(t.roles.c.name.in_(held)),
    )


def read_lookup(conn: Connection, kind: str, ident: str) -> LookupRecord:
    """What the store holds for a lookup: ``s`` a secret id, ``l`` an imported key's
    handle, ``c`` a client id (its secrets presented with a client_id: no prefix, not
    imported from another library)."""
    run = _statements(kind)
    bound = {"ident": ident}
    client_row = conn.execute(run.client, bound).first()
    rows = conn.execute(run.secrets, bound).all()
    scopes = _pairs(conn, run.scopes, bound)
    roles = _pairs(conn, run.roles, bound)
    owner_row = conn.execute(run.owner, bound).first()
    role_rows = conn.execute(run.role_rows, bound).all()
    return LookupRecord(
        client=client_from_row(client_row) if client_row is not None else None,
        secrets=[stored_secret(row, scopes, roles) for row in rows],
        owner=plans_sql.owner_from_row(owner_row) if owner_row is not None else None,
        roles={row.name: plans_sql.role_from_row(row) for row in role_rows},
    )
