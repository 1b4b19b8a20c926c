"""Rate limits, credits and IP allowlists on secrets.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from keyhive.storage.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("secrets") as batch:
        batch.add_column(sa.Column("rate_limit", sa.String(40), nullable=True))
        batch.add_column(sa.Column("credits", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("refill", sa.String(8), nullable=True))
        batch.add_column(sa.Column("credits_set_at", UTCDateTime, nullable=True))
        batch.add_column(
            sa.Column("credits_used", sa.BigInteger, nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("credits_period", sa.String(64), nullable=True))
        batch.add_column(sa.Column("allowed_ips", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("secrets") as batch:
        for name in (
            "allowed_ips",
            "credits_period",
            "credits_used",
            "credits_set_at",
            "refill",
            "credits",
            "rate_limit",
        ):
            batch.drop_column(name)
