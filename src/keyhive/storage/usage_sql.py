"""Hourly usage buckets in SQL: additive upserts from every node, grouped reads, pruning.

``INSERT ... ON CONFLICT (secret_id, hour, code) DO UPDATE SET count = count +
excluded.count`` on both SQLite and PostgreSQL: two nodes flushing the same hour of the
same secret at once both land, whichever commits first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from keyhive.core.model import Code
from keyhive.core.usage import UsageRow
from keyhive.storage import schema as t
from keyhive.storage._protocol import Usage

_CODES = {code.value: code for code in Code}


def add_buckets(conn: Connection, usage: Mapping[str, Usage]) -> None:
    """Add a batch's per-hour, per-code counts to the buckets (in the caller's transaction)."""
    rows = [
        {"secret_id": secret_id, "hour": hour, "code": code.value, "count": count}
        for secret_id, used in sorted(usage.items())
        for (hour, code), count in sorted(used.codes.items())
        if count > 0
    ]
    if not rows:
        return
    table = t.usage_buckets
    insert: Any = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.secret_id, table.c.hour, table.c.code],
        set_={"count": table.c.count + statement.excluded["count"]},
    )
    conn.execute(statement, rows)


def read_rows(
    conn: Connection,
    *,
    since: datetime,
    secret_id: str | None = None,
    client_id: str | None = None,
    per_secret: bool = False,
) -> list[UsageRow]:
    """Counts per hour and code from ``since`` on, summed over the secrets asked for.

    ``secret_id`` narrows to one secret, ``client_id`` to a client's secrets, neither
    means every secret; ``per_secret`` keeps the secrets apart instead of summing them.
    """
    table = t.usage_buckets
    total = sa.func.sum(table.c["count"]).label("total")
    keys: list[Any] = [table.c.hour, table.c.code]
    if per_secret:
        keys.append(table.c.secret_id)
    query = sa.select(*keys, total).where(table.c.hour >= since).group_by(*keys)
    if secret_id is not None:
        query = query.where(table.c.secret_id == secret_id)
    if client_id is not None:
        owned = sa.select(t.secrets.c.secret_id).where(t.secrets.c.client_id == client_id)
        query = query.where(table.c.secret_id.in_(owned))
    return [
        UsageRow(
            hour=row.hour,
            code=_CODES[row.code],
            count=int(row.total),
            secret_id=row.secret_id if per_secret else None,
        )
        for row in conn.execute(query)
        if row.code in _CODES
    ]


def prune(conn: Connection, before: datetime) -> int:
    """Delete the buckets of hours before ``before``; returns how many rows went."""
    table = t.usage_buckets
    result = conn.execute(table.delete().where(table.c.hour < before))
    return int(result.rowcount or 0)
