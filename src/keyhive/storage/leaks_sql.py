"""SQL for leak responses: many secrets read and revoked in a few statements.

A GitHub report may name a thousand tokens and must be answered within its timeout,
so reads go out in chunks of ids (under SQLite's limit on bound parameters) and the
revocations as one prepared UPDATE run for every row (executemany).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from keyhive.core.errors import SecretNotFound
from keyhive.core.model import Secret
from keyhive.storage import schema as t

CHUNK: Final = 500
_REVOKE: Final = (
    t.secrets.update()
    .where(t.secrets.c.secret_id == sa.bindparam("b_secret_id"))
    .values(
        revoked_at=sa.bindparam("b_revoked_at", type_=t.UTCDateTime),
        revoked_reason=sa.bindparam("b_revoked_reason"),
    )
)


def chunks(ids: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def revoke(conn: Connection, secrets: Sequence[Secret]) -> None:
    """Write the revocation fields of ``secrets``; SecretNotFound if one is missing."""
    if not secrets:
        return
    rows = [
        {
            "b_secret_id": s.secret_id,
            "b_revoked_at": s.revoked_at,
            "b_revoked_reason": s.revoked_reason,
        }
        for s in secrets
    ]
    result = conn.execute(_REVOKE, rows)
    if result.rowcount != len(rows):
        ids = [s.secret_id for s in secrets]
        present = {
            row.secret_id
            for chunk in chunks(ids)
            for row in conn.execute(
                sa.select(t.secrets.c.secret_id).where(t.secrets.c.secret_id.in_(chunk))
            )
        }
        missing = next((i for i in ids if i not in present), ids[0])
        raise SecretNotFound(missing)
