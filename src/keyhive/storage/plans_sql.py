"""SQL for plans: owners' limits, roles and the roles secrets hold (SQLite and PostgreSQL).

Kept apart from sql.py, which calls these with its connection inside its own reads and
transactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from keyhive.core.errors import Conflict, IdTaken, NotFound
from keyhive.core.model import Owner, Role
from keyhive.core.quotas import limits_from_json, limits_to_json
from keyhive.storage import schema as t
from keyhive.storage._protocol import OWNER_FIELDS, ROLE_FIELDS


def owner_from_row(row: Any) -> Owner:
    return Owner(
        owner=row.owner,
        rate_limits=limits_from_json(row.rate_limits),
        credits=row.credits,
        refill=row.refill,
        credits_set_at=row.credits_set_at,
        credits_used=row.credits_used or 0,
        credits_period=row.credits_period,
        updated_at=row.updated_at,
    )


def role_from_row(row: Any) -> Role:
    return Role(
        name=row.name,
        scopes=tuple(row.scopes or ()),
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# -- owners --------------------------------------------------------------------------------
def get_owner(conn: Connection, owner: str) -> Owner | None:
    row = conn.execute(sa.select(t.owners).where(t.owners.c.owner == owner)).first()
    return owner_from_row(row) if row else None


def lock_owner(conn: Connection, owner: str) -> Owner:
    """The owner's row, made empty first if it has none, then locked (FOR UPDATE): two
    first changes of one owner queue behind each other instead of both inserting."""
    if get_owner(conn, owner) is None:
        try:
            with conn.begin_nested():
                conn.execute(t.owners.insert().values(owner=owner, credits_used=0))
        except IntegrityError:  # a rival made it meanwhile: lock theirs
            pass
    query = sa.select(t.owners).where(t.owners.c.owner == owner).with_for_update()
    return owner_from_row(conn.execute(query).one())


def save_owner(conn: Connection, owner: str, changes: Mapping[str, Any], at: datetime) -> None:
    unknown = set(changes) - OWNER_FIELDS
    if unknown:
        raise ValueError(f"not owner fields: {sorted(unknown)}")
    values = dict(changes)
    if "rate_limits" in values:
        values["rate_limits"] = limits_to_json(tuple(values["rate_limits"]))
    values["updated_at"] = at
    col = t.owners.c
    if not conn.execute(t.owners.update().where(col.owner == owner).values(**values)).rowcount:
        conn.execute(t.owners.insert().values(owner=owner, credits_used=0, **values))


def record_owner_usage(conn: Connection, usage: Mapping[str, tuple[str, int]]) -> None:
    col = t.owners.c
    for owner, (period, used) in sorted(usage.items()):
        same = col.credits_period == period
        conn.execute(
            t.owners.update()
            .where(col.owner == owner)
            .values(
                credits_used=sa.case(
                    (same & (col.credits_used > used), col.credits_used), else_=used
                ),
                credits_period=period,
            )
        )


# -- roles ---------------------------------------------------------------------------------
def get_roles(conn: Connection, names: Sequence[str]) -> dict[str, Role]:
    if not names:
        return {}
    rows = conn.execute(sa.select(t.roles).where(t.roles.c.name.in_(sorted(set(names)))))
    return {row.name: role_from_row(row) for row in rows}


def list_roles(conn: Connection) -> list[Role]:
    return [role_from_row(row) for row in conn.execute(sa.select(t.roles).order_by(t.roles.c.name))]


def lock_role(conn: Connection, name: str) -> Role | None:
    query = sa.select(t.roles).where(t.roles.c.name == name)
    row = conn.execute(query.with_for_update()).first()
    return role_from_row(row) if row else None


def insert_role(conn: Connection, role: Role) -> None:
    try:
        with conn.begin_nested():
            conn.execute(
                t.roles.insert().values(
                    name=role.name,
                    scopes=list(role.scopes),
                    description=role.description,
                    created_at=role.created_at,
                    updated_at=role.updated_at or role.created_at,
                )
            )
    except IntegrityError:
        raise IdTaken(f"role exists: {role.name}") from None


def patch_role(conn: Connection, name: str, changes: Mapping[str, Any], at: datetime) -> None:
    unknown = set(changes) - ROLE_FIELDS
    if unknown:
        raise ValueError(f"not role fields: {sorted(unknown)}")
    values = dict(changes)
    if "scopes" in values:
        values["scopes"] = list(values["scopes"])
    values["updated_at"] = at
    result = conn.execute(t.roles.update().where(t.roles.c.name == name).values(**values))
    if result.rowcount == 0:
        raise NotFound("role", name)


def delete_role(conn: Connection, name: str, now: datetime) -> None:
    links, col = t.secret_roles.c, t.secrets.c
    holders = sa.select(links.secret_id).where(links.role == name)
    active = conn.execute(
        sa.select(sa.func.count())
        .select_from(t.secrets)
        .where(col.secret_id.in_(holders), sa.or_(col.revoked_at.is_(None), col.revoked_at > now))
    ).scalar()
    if active:
        raise Conflict(
            f"role {name} is held by {active} secret(s) that are not revoked; "
            "take it from them first"
        )
    conn.execute(t.secret_roles.delete().where(links.role == name))
    try:
        with conn.begin_nested():
            result = conn.execute(t.roles.delete().where(t.roles.c.name == name))
    except IntegrityError:  # a secret took the role meanwhile
        raise Conflict(f"role {name} was just given to a secret") from None
    if result.rowcount == 0:
        raise NotFound("role", name)


def secret_roles(conn: Connection, secret_ids: Sequence[str]) -> dict[str, list[str]]:
    """The roles each of these secrets holds."""
    found: dict[str, list[str]] = {}
    if not secret_ids:
        return found
    rows = conn.execute(
        sa.select(t.secret_roles.c.secret_id, t.secret_roles.c.role).where(
            t.secret_roles.c.secret_id.in_(secret_ids)
        )
    )
    for secret_id, role in rows:
        found.setdefault(secret_id, []).append(role)
    return found


def write_secret_roles(conn: Connection, secret_id: str, roles: Iterable[str]) -> None:
    """Replace the roles a secret holds; NotFound if a role does not exist (or vanished)."""
    conn.execute(t.secret_roles.delete().where(t.secret_roles.c.secret_id == secret_id))
    wanted = sorted(set(roles))
    if not wanted:
        return
    try:
        with conn.begin_nested():
            conn.execute(
                t.secret_roles.insert(), [{"secret_id": secret_id, "role": r} for r in wanted]
            )
    except IntegrityError:
        known = get_roles(conn, wanted)
        missing = next((r for r in wanted if r not in known), wanted[0])
        raise NotFound("role", missing) from None
