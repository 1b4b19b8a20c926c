"""Plans: named rate limits (a JSON list), owners with limits and credits, roles, and
keys imported from other libraries (looked up by ``legacy_id``).

Each secret's old ``rate_limit`` text becomes one limit named ``default``.

Revision ID: 0008
Revises: 0007
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from keyhive.core.quotas import RateLimit
from keyhive.storage.schema import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_secrets = sa.table(
    "secrets",
    sa.column("secret_id", sa.String),
    sa.column("rate_limit", sa.String),
    sa.column("rate_limits", sa.JSON),
)


def upgrade() -> None:
    op.add_column("secrets", sa.Column("rate_limits", sa.JSON, nullable=True))
    op.add_column("secrets", sa.Column("legacy_id", sa.String(64), nullable=True))
    op.create_index("ix_secrets_legacy_id", "secrets", ["legacy_id"], unique=True)
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_secrets.c.secret_id, _secrets.c.rate_limit).where(
            _secrets.c.rate_limit.is_not(None)
        )
    ).all()
    for secret_id, text in rows:
        limits: list[dict[str, Any]] = [RateLimit.parse(text).to_dict()]
        conn.execute(
            _secrets.update().where(_secrets.c.secret_id == secret_id).values(rate_limits=limits)
        )
    # A plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of the table
    # would trip over the scope rows' foreign keys.
    op.drop_column("secrets", "rate_limit")
    op.create_table(
        "owners",
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("rate_limits", sa.JSON, nullable=True),
        sa.Column("credits", sa.BigInteger, nullable=True),
        sa.Column("refill", sa.String(8), nullable=True),
        sa.Column("credits_set_at", UTCDateTime, nullable=True),
        sa.Column("credits_used", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("credits_period", sa.String(64), nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("owner", name="pk_owners"),
    )
    op.create_table(
        "roles",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_roles"),
    )
    op.create_table(
        "secret_roles",
        sa.Column("secret_id", sa.String(32), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["secret_id"], ["secrets.secret_id"], name="fk_secret_roles_secret_id_secrets"
        ),
        sa.ForeignKeyConstraint(["role"], ["roles.name"], name="fk_secret_roles_role_roles"),
        sa.PrimaryKeyConstraint("secret_id", "role", name="pk_secret_roles"),
    )
    op.create_index("ix_secret_roles_role", "secret_roles", ["role"])


def downgrade() -> None:
    op.drop_index("ix_secret_roles_role", "secret_roles")
    op.drop_table("secret_roles")
    op.drop_table("roles")
    op.drop_table("owners")
    op.add_column("secrets", sa.Column("rate_limit", sa.String(40), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_secrets.c.secret_id, _secrets.c.rate_limits).where(
            _secrets.c.rate_limits.is_not(None)
        )
    ).all()
    for secret_id, limits in rows:
        if limits:
            first = RateLimit.from_dict(limits[0])
            conn.execute(
                _secrets.update()
                .where(_secrets.c.secret_id == secret_id)
                .values(rate_limit=first.rate)
            )
    op.drop_index("ix_secrets_legacy_id", "secrets")
    op.drop_column("secrets", "legacy_id")
    op.drop_column("secrets", "rate_limits")
