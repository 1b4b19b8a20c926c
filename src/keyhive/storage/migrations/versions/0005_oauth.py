"""OAuth access tokens: signing keys (private keys sealed) and revoked token ids.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from keyhive.storage.schema import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_signing_keys",
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("public_jwk", sa.JSON, nullable=False),
        sa.Column("private_sealed", sa.Text, nullable=False),
        sa.Column("server_key_id", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("kid", name="pk_oauth_signing_keys"),
        sa.UniqueConstraint("generation", name="uq_oauth_signing_keys_generation"),
    )
    op.create_table(
        "oauth_revoked_tokens",
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("secret_id", sa.String(32), nullable=True),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("jti", name="pk_oauth_revoked_tokens"),
    )
    op.create_index("ix_oauth_revoked_tokens_expires_at", "oauth_revoked_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_oauth_revoked_tokens_expires_at", "oauth_revoked_tokens")
    op.drop_table("oauth_revoked_tokens")
    op.drop_table("oauth_signing_keys")
