"""Value types shared by every layer: clients, secrets, verification results, audit events.

All are frozen; changes produce new values (``dataclasses.replace``). None of them holds
a plain secret except :class:`Issued`, whose ``token`` is shown to its owner once and
hidden from ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from keyhive.core.quotas import RateLimit


class Code(StrEnum):
    """The outcome of a verification. Only VALID means the request may pass."""

    VALID = "VALID"
    NOT_FOUND = "NOT_FOUND"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"
    DISABLED = "DISABLED"
    INSUFFICIENT_SCOPE = "INSUFFICIENT_SCOPE"
    RATE_LIMITED = "RATE_LIMITED"
    USAGE_EXCEEDED = "USAGE_EXCEEDED"
    IP_NOT_ALLOWED = "IP_NOT_ALLOWED"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


@dataclass(frozen=True, slots=True)
class Client:
    """A consumer of the protected API. ``client_id`` is public and stored in plain."""

    client_id: str
    name: str
    owner: str | None
    metadata: Mapping[str, Any]
    enabled: bool
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "owner": self.owner,
            "metadata": dict(self.metadata),
            "enabled": self.enabled,
            "created_at": _iso(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret's public record. The hash string lives only in storage, never here.

    ``prefix`` is None for secrets imported in the article's format, which are presented
    as a client_id + secret pair rather than as a token. ``revoked_at`` may lie in the
    future: that is how a rotated secret's grace period ends.
    """

    secret_id: str
    client_id: str
    name: str | None
    scopes: tuple[str, ...]
    prefix: str | None
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None
    last_used_at: datetime | None = None
    usage_count: int = 0
    rotated_from: str | None = None
    replaced_by: str | None = None
    #: Named sliding-window limits, in the order given (see :mod:`keyhive.core.quotas`).
    rate_limits: tuple[RateLimit, ...] = ()
    #: Verifications allowed per period (None: unlimited); ``refill``: "day", "month" or None.
    credits: int | None = None
    refill: str | None = None
    #: When credits were last set: a new allowance starts a fresh count.
    credits_set_at: datetime | None = None
    #: What the database last recorded as spent in ``credits_period``.
    credits_used: int = 0
    credits_period: str | None = None
    allowed_ips: tuple[str, ...] = ()
    #: Roles whose scopes this secret holds besides its own ``scopes``.
    roles: tuple[str, ...] = ()
    #: For a key another library issued and keyhive imported (``drf:<prefix>``,
    #: ``keygate:<prefix>``): its public handle, by which it is looked up. None otherwise.
    legacy_id: str | None = None

    @property
    def rate_limit(self) -> RateLimit | None:
        """The first rate limit (the only one, for a secret given a single rate)."""
        return self.rate_limits[0] if self.rate_limits else None

    @property
    def metered(self) -> bool:
        """Whether verifications of this secret spend counters (rate limits or credits)."""
        return bool(self.rate_limits) or self.credits is not None

    def is_revoked(self, now: datetime) -> bool:
        return self.revoked_at is not None and self.revoked_at <= now

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def to_dict(self) -> dict[str, Any]:
        return {
            "secret_id": self.secret_id,
            "client_id": self.client_id,
            "name": self.name,
            "scopes": list(self.scopes),
            "prefix": self.prefix,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "revoked_at": _iso(self.revoked_at),
            "revoked_reason": self.revoked_reason,
            "last_used_at": _iso(self.last_used_at),
            "usage_count": self.usage_count,
            "rotated_from": self.rotated_from,
            "replaced_by": self.replaced_by,
            "rate_limit": str(self.rate_limits[0]) if self.rate_limits else None,
            "rate_limits": [_limit_dict(limit) for limit in self.rate_limits],
            "credits": self.credits,
            "refill": self.refill,
            "allowed_ips": list(self.allowed_ips),
            "roles": list(self.roles),
            "legacy_id": self.legacy_id,
        }


def _limit_dict(limit: RateLimit) -> dict[str, Any]:
    return {**limit.to_dict(), "rate": limit.rate}


@dataclass(frozen=True, slots=True)
class Owner:
    """The limits an owner (the ``owner`` text of clients) carries for all its secrets.

    Its rate limits and credits are shared by every secret of every client it owns: a
    verification spends the secret's limits and its owner's together.
    """

    owner: str
    rate_limits: tuple[RateLimit, ...] = ()
    credits: int | None = None
    refill: str | None = None
    credits_set_at: datetime | None = None
    #: What the database last recorded as spent in ``credits_period``.
    credits_used: int = 0
    credits_period: str | None = None
    updated_at: datetime | None = None

    @property
    def metered(self) -> bool:
        return bool(self.rate_limits) or self.credits is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "rate_limits": [_limit_dict(limit) for limit in self.rate_limits],
            "credits": self.credits,
            "refill": self.refill,
            "updated_at": _iso(self.updated_at),
        }


@dataclass(frozen=True, slots=True)
class Role:
    """A named set of scopes that secrets hold by name: change the role, change them all.

    keyhive's own scopes (``keyhive:*``) are never part of a role: they are granted to a
    secret by name only, so the last-admin rule reads admins from secrets alone.
    """

    name: str
    scopes: tuple[str, ...]
    description: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scopes": list(self.scopes),
            "description": self.description,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


@dataclass(frozen=True, slots=True)
class StoredSecret:
    """A secret with its hash string and digest: what storage holds, never shown to users.

    ``digest`` (see :mod:`keyhive.core.digests`) is None until the secret is known to the
    server key: for article secrets until their first success, and for secrets issued
    before digests existed.
    """

    secret: Secret
    hash: str = field(repr=False)
    digest: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class SeedImport:
    """A secret hashed by the article's Node code, to import: its client and hash string.

    ``stored`` is ``<128 hex>.<16 hex salt>``; ``name`` names the secret (and the client,
    when the import creates it).
    """

    client_id: str
    stored: str = field(repr=False)
    name: str | None = None
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Issued:
    """A freshly issued secret: ``token`` is shown to its owner this once and never again."""

    token: str = field(repr=False)
    secret: Secret

    @property
    def secret_id(self) -> str:
        return self.secret.secret_id

    @property
    def client_id(self) -> str:
        return self.secret.client_id

    def to_dict(self) -> dict[str, Any]:
        return {"token": self.token, **self.secret.to_dict()}


@dataclass(frozen=True, slots=True)
class RateLimitStatus:
    """One named rate limit after a verification: admitted or not, and the window's
    figures (for the verify answer and the RateLimit headers)."""

    allowed: bool
    limit: int
    remaining: int
    reset: float  # epoch seconds when a slot frees up
    #: Seconds from the hit until a slot frees up, read on the limiter's own clock.
    reset_in: float
    name: str = "default"
    #: The window's length in seconds.
    window: int = 0
    #: Whose limit it is: the ``secret``'s own or its ``owner``'s.
    holder: str = "secret"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "holder": self.holder,
            "limit": self.limit,
            "window": self.window,
            "remaining": self.remaining,
            "reset": int(self.reset),
        }


@dataclass(frozen=True, slots=True)
class CreditStatus:
    """A credit allowance after a verification: the secret's own or its owner's."""

    holder: str
    allowance: int
    remaining: int
    #: Epoch seconds when the allowance refills (None: never).
    refills_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "holder": self.holder,
            "allowance": self.allowance,
            "remaining": self.remaining,
            "refills_at": int(self.refills_at) if self.refills_at is not None else None,
        }


@dataclass(frozen=True, slots=True)
class LimitedBy:
    """Which limit refused a verification: ``holder`` (secret or owner), its ``name``
    (``credits`` for an allowance) and ``kind`` (``rate`` or ``credits``)."""

    holder: str
    name: str
    kind: str

    def to_dict(self) -> dict[str, Any]:
        return {"holder": self.holder, "name": self.name, "kind": self.kind}


@dataclass(frozen=True, slots=True)
class Verification:
    """The answer to "may this credential pass?": ``valid`` and one ``code``.

    Client and secret details are filled in only once the secret itself matched, so a
    NOT_FOUND answer tells an attacker nothing.
    """

    code: Code
    client: Client | None = None
    secret: Secret | None = None
    retry_after: float | None = None
    #: The tightest rate limit (the refusing one, on RATE_LIMITED): kept for old readers.
    ratelimit: RateLimitStatus | None = None
    #: Credits left after this verification (None: unlimited or not known); with both a
    #: secret's and an owner's allowance, the smaller of the two.
    remaining: int | None = None
    #: Every rate limit the verification was counted against, the secret's then the owner's.
    limits: tuple[RateLimitStatus, ...] = ()
    credits: tuple[CreditStatus, ...] = ()
    limited_by: LimitedBy | None = None
    #: The scopes in force when they are not the secret's own: its roles' too, or an
    #: OAuth access token's (None: the secret's own).
    granted: tuple[str, ...] | None = None

    @property
    def valid(self) -> bool:
        return self.code is Code.VALID

    @property
    def client_id(self) -> str | None:
        return self.client.client_id if self.client else None

    @property
    def secret_id(self) -> str | None:
        return self.secret.secret_id if self.secret else None

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes in force: the secret's own and those of its roles."""
        if self.granted is not None:
            return self.granted
        return self.secret.scopes if self.secret else ()

    def to_dict(self) -> dict[str, Any]:
        client, secret = self.client, self.secret
        return {
            "valid": self.valid,
            "code": self.code.value,
            "client_id": client.client_id if client else None,
            "secret_id": secret.secret_id if secret else None,
            "scopes": list(self.scopes),
            "roles": list(secret.roles) if secret else [],
            "owner": client.owner if client else None,
            "name": client.name if client else None,
            "metadata": dict(client.metadata) if client else {},
            "expires_at": _iso(secret.expires_at) if secret else None,
            "ratelimit": self.ratelimit.to_dict() if self.ratelimit else None,
            "limits": [status.to_dict() for status in self.limits],
            "remaining": self.remaining,
            "credits": [status.to_dict() for status in self.credits],
            "limited_by": self.limited_by.to_dict() if self.limited_by else None,
            "retry_after": self.retry_after,
        }


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One admin change: who (actor), what (action on a target), when, before and after."""

    id: int | None
    at: datetime
    actor: str | None
    action: str
    target_type: str
    target_id: str
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": _iso(self.at),
            "actor": self.actor,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "before": dict(self.before) if self.before is not None else None,
            "after": dict(self.after) if self.after is not None else None,
        }
