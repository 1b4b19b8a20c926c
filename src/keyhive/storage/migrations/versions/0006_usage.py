"""Usage analytics: verifications per secret, hour and code.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from keyhive.storage.schema import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_buckets",
        sa.Column("secret_id", sa.String(32), nullable=False),
        sa.Column("hour", UTCDateTime, nullable=False),
        sa.Column("code", sa.String(24), nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("secret_id", "hour", "code", name="pk_usage_buckets"),
    )
    op.create_index("ix_usage_buckets_hour", "usage_buckets", ["hour"])


def downgrade() -> None:
    op.drop_index("ix_usage_buckets_hour", table_name="usage_buckets")
    op.drop_table("usage_buckets")
