"""Tables of the SQL stores (SQLAlchemy Core). Alembic migrations create and evolve them.

Secret rows hold only the hash string; their primary key is the public secret_id, never
anything derived from the hash.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always returns timezone-aware UTC (SQLite would otherwise return naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

clients = Table(
    "clients",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("owner", String(200), nullable=True, index=True),
    Column("metadata", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

secrets = Table(
    "secrets",
    metadata,
    Column("secret_id", String(32), primary_key=True),
    Column("client_id", String(128), ForeignKey("clients.client_id"), nullable=False, index=True),
    Column("name", String(200), nullable=True),
    Column("prefix", String(16), nullable=True),
    Column("hash", Text, nullable=False),
    # "<server key id>:<base64 keyed digest>" (keyhive.core.digests); None until known.
    Column("digest", String(96), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("revoked_reason", String(500), nullable=True),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("usage_count", BigInteger, nullable=False, default=0),
    Column("rotated_from", String(32), nullable=True),
    Column("replaced_by", String(32), nullable=True),
    # Named rate limits: a JSON list of {name, limit, window} (keyhive.core.quotas).
    Column("rate_limits", JSON, nullable=True),
    Column("credits", BigInteger, nullable=True),
    Column("refill", String(8), nullable=True),
    Column("credits_set_at", UTCDateTime, nullable=True),
    Column("credits_used", BigInteger, nullable=False, default=0),
    Column("credits_period", String(64), nullable=True),
    Column("allowed_ips", JSON, nullable=True),
    # A key another library issued ("drf:<prefix>", "keygate:<prefix>"): its lookup.
    Column("legacy_id", String(64), nullable=True),
    Index("ix_secrets_legacy_id", "legacy_id", unique=True),
)

secret_scopes = Table(
    "secret_scopes",
    metadata,
    Column("secret_id", String(32), ForeignKey("secrets.secret_id"), primary_key=True),
    Column("scope", String(200), primary_key=True),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=True),
    Column("action", String(64), nullable=False),
    Column("target_type", String(32), nullable=False),
    Column("target_id", String(128), nullable=False),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    # The tamper-evident chain (keyhive.core.audit_chain); NULL on events from before it.
    Column("hash", String(64), nullable=True),
    Column("prev_hash", String(64), nullable=True),
    Index("ix_audit_events_target_id", "target_id"),
)

# -- oauth (access tokens) --
#: Signing keys of OAuth access tokens. ``generation`` is unique: a node that replaces
#: the current key inserts generation n+1, so two nodes racing to rotate cannot both
#: win. The private key is stored only sealed (AES-GCM) under a server key kept outside
#: the database; ``server_key_id`` names that key.
oauth_signing_keys = Table(
    "oauth_signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("generation", Integer, nullable=False, unique=True),
    Column("alg", String(16), nullable=False),
    Column("public_jwk", JSON, nullable=False),
    Column("private_sealed", Text, nullable=False),
    Column("server_key_id", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

#: Access tokens revoked before they expire (RFC 7009), by ``jti``; a row is dropped
#: once its token has expired anyway.
oauth_revoked_tokens = Table(
    "oauth_revoked_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("client_id", String(128), nullable=False),
    Column("secret_id", String(32), nullable=True),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("revoked_at", UTCDateTime, nullable=False),
)

# -- usage analytics --
#: Verifications per secret, UTC hour and code. Nodes add their batches to a row
#: (``count = count + excluded.count``), so the counts of every node add up. No foreign
#: key: a batch may name a secret deleted meanwhile, and that must not fail the batch.
usage_buckets = Table(
    "usage_buckets",
    metadata,
    Column("secret_id", String(32), primary_key=True),
    Column("hour", UTCDateTime, primary_key=True),
    Column("code", String(24), primary_key=True),
    Column("count", BigInteger, nullable=False),
    Index("ix_usage_buckets_hour", "hour"),
)
# -- webhooks --
#: Webhook endpoints. The signing secret is stored only sealed (AES-GCM) under a subkey
#: of the server key named by ``server_key_id``.
webhooks = Table(
    "webhooks",
    metadata,
    Column("webhook_id", String(32), primary_key=True),
    Column("url", Text, nullable=False),
    Column("events", JSON, nullable=False),
    Column("description", String(500), nullable=True),
    Column("secret_sealed", Text, nullable=False),
    Column("server_key_id", String(64), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime, nullable=True),
    Column("disabled_reason", String(500), nullable=True),
    Column("failing_since", UTCDateTime, nullable=True),
)

#: The outbox: one row per event, written in the transaction of the change causing it.
#: (type, subject, period) is unique, so an event sent once per secret and period
#: (``secret.expiring``, ``credits.low``, ...) is written once however many nodes see it;
#: other events leave ``period`` NULL, which never collides.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("event_id", String(32), primary_key=True),
    Column("type", String(32), nullable=False),
    Column("subject", String(128), nullable=True),
    Column("period", String(64), nullable=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("data", JSON, nullable=False),
    UniqueConstraint("type", "subject", "period", name="uq_webhook_events_type"),
)

#: One row per (event, endpoint): what a sender claims (with a lease), retries and
#: records. No foreign key to ``webhooks``: an insert here then takes no lock on an
#: endpoint row that a concurrent delete holds (see the ordering rule in
#: storage/audit_chain_sql.py); rows of a deleted endpoint are never claimed and purged.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(32), ForeignKey("webhook_events.event_id"), nullable=False),
    Column("webhook_id", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("last_attempt_at", UTCDateTime, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("response_excerpt", String(1000), nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),
    Index("ix_webhook_deliveries_event", "event_id"),
)

#: The expiry scan of ``secret.expiring`` / ``secret.expired`` reads secrets by expiry.
Index("ix_secrets_expires_at", secrets.c.expires_at)
# -- plans (owners' limits, roles) --
#: Limits shared by every secret of every client whose ``owner`` is this text.
owners = Table(
    "owners",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("rate_limits", JSON, nullable=True),
    Column("credits", BigInteger, nullable=True),
    Column("refill", String(8), nullable=True),
    Column("credits_set_at", UTCDateTime, nullable=True),
    Column("credits_used", BigInteger, nullable=False, default=0),
    Column("credits_period", String(64), nullable=True),
    Column("updated_at", UTCDateTime, nullable=True),
)

#: Named sets of scopes; never keyhive's own scopes.
roles = Table(
    "roles",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("scopes", JSON, nullable=False),
    Column("description", String(500), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

#: Which secrets hold which roles. The foreign key keeps a role in use from vanishing.
secret_roles = Table(
    "secret_roles",
    metadata,
    Column("secret_id", String(32), ForeignKey("secrets.secret_id"), primary_key=True),
    Column("role", String(64), ForeignKey("roles.name"), primary_key=True),
    Index("ix_secret_roles_role", "role"),
)

# -- portal sessions --
#: Sessions of the self-service portal (keyhive.core.portal). The one-time code is kept
#: only as its SHA-256 digest (unique: a code opens one session); ``opened_at`` is set
#: once, by the first use of the code, with a conditional UPDATE that one request wins.
portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("session_id", String(32), primary_key=True),
    Column("code_digest", String(64), nullable=False, unique=True),
    Column("owner", String(200), nullable=False, index=True),
    Column("allowed_scopes", JSON, nullable=False),
    Column("max_secrets", Integer, nullable=True),
    Column("return_url", Text, nullable=True),
    Column("created_by", String(32), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("opened_at", UTCDateTime, nullable=True),
)
