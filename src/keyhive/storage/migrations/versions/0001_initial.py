"""Clients, secrets, their scopes and the audit log.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from keyhive.storage.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("client_id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("client_id", name="pk_clients"),
    )
    op.create_index("ix_clients_owner", "clients", ["owner"])
    op.create_table(
        "secrets",
        sa.Column("secret_id", sa.String(32), primary_key=True),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("prefix", sa.String(16), nullable=True),
        sa.Column("hash", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=True),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.Column("revoked_reason", sa.String(500), nullable=True),
        sa.Column("last_used_at", UTCDateTime, nullable=True),
        sa.Column("usage_count", sa.BigInteger, nullable=False),
        sa.Column("rotated_from", sa.String(32), nullable=True),
        sa.Column("replaced_by", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("secret_id", name="pk_secrets"),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.client_id"], name="fk_secrets_client_id_clients"
        ),
    )
    op.create_index("ix_secrets_client_id", "secrets", ["client_id"])
    op.create_table(
        "secret_scopes",
        sa.Column("secret_id", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("secret_id", "scope", name="pk_secret_scopes"),
        sa.ForeignKeyConstraint(
            ["secret_id"], ["secrets.secret_id"], name="fk_secret_scopes_secret_id_secrets"
        ),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(128), nullable=False),
        sa.Column("before", sa.JSON, nullable=True),
        sa.Column("after", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_target_id", "audit_events", ["target_id"])


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("secret_scopes")
    op.drop_table("secrets")
    op.drop_table("clients")
