"""Webhooks: endpoints (signing secrets sealed), the outbox of events, and deliveries.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from keyhive.storage.schema import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("webhook_id", sa.String(32), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("secret_sealed", sa.Text, nullable=False),
        sa.Column("server_key_id", sa.String(64), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("disabled_at", UTCDateTime, nullable=True),
        sa.Column("disabled_reason", sa.String(500), nullable=True),
        sa.Column("failing_since", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("webhook_id", name="pk_webhooks"),
    )
    op.create_table(
        "webhook_events",
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(128), nullable=True),
        sa.Column("period", sa.String(64), nullable=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_webhook_events"),
        sa.UniqueConstraint("type", "subject", "period", name="uq_webhook_events_type"),
    )
    op.create_index("ix_webhook_events_at", "webhook_events", ["at"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.Column("webhook_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", UTCDateTime, nullable=True),
        sa.Column("last_attempt_at", UTCDateTime, nullable=True),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("response_excerpt", sa.String(1000), nullable=True),
        sa.Column("delivered_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["webhook_events.event_id"],
            name="fk_webhook_deliveries_event_id_webhook_events",
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index("ix_webhook_deliveries_webhook", "webhook_deliveries", ["webhook_id", "id"])
    op.create_index("ix_webhook_deliveries_event", "webhook_deliveries", ["event_id"])
    op.create_index("ix_secrets_expires_at", "secrets", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_secrets_expires_at", "secrets")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_webhook_events_at", "webhook_events")
    op.drop_table("webhook_events")
    op.drop_table("webhooks")
