"""Portal sessions: self-service key pages for an API's own customers.

Revision ID: 0009
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from keyhive.storage.schema import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_sessions",
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("code_digest", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("allowed_scopes", sa.JSON, nullable=False),
        sa.Column("max_secrets", sa.Integer, nullable=True),
        sa.Column("return_url", sa.Text, nullable=True),
        sa.Column("created_by", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("opened_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("session_id", name="pk_portal_sessions"),
        sa.UniqueConstraint("code_digest", name="uq_portal_sessions_code_digest"),
    )
    op.create_index("ix_portal_sessions_owner", "portal_sessions", ["owner"])
    op.create_index("ix_portal_sessions_expires_at", "portal_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_portal_sessions_expires_at", table_name="portal_sessions")
    op.drop_index("ix_portal_sessions_owner", table_name="portal_sessions")
    op.drop_table("portal_sessions")
