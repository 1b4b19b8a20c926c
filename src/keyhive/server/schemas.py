"""Request and response bodies, as pydantic models: they validate input and feed OpenAPI.

Bodies forbid unknown fields, so a misspelt ``expires_in`` is an error rather than a
secret that silently never expires. Deeper checks (printable names, metadata size) stay
in the library; its InvalidInput becomes a 422 problem.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
)

from keyhive.core.model import Code
from keyhive.core.quotas import MAX_COST, MAX_LIMITS
from keyhive.core.roles import MAX_ROLES
from keyhive.core.scopes import MAX_SCOPES

SCOPE_PATTERN: Final = r"^(\*|[A-Za-z0-9_.\-/]{1,64}:([A-Za-z0-9_.\-/]{1,64}|\*))$"
DURATION_PATTERN: Final = r"^([0-9]{1,9}|([0-9]{1,9}[smhdw]){1,5})$"


def _utc(value: datetime) -> datetime:
    """Normalise to UTC now, so an offset at the calendar's edge fails as input, not later."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("datetime is out of range once converted to UTC") from None


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("ip must be an IPv4 or IPv6 address") from None


Scope = Annotated[str, Field(pattern=SCOPE_PATTERN, examples=["articles:read"])]
Scopes = Annotated[list[Scope], Field(max_length=MAX_SCOPES)]
Duration = Annotated[str, Field(pattern=DURATION_PATTERN, examples=["90d", "24h", "1h30m"])]
Timestamp = Annotated[AwareDatetime, AfterValidator(_utc)]
IPAddress = Annotated[
    str,
    Field(max_length=64, description="IPv4 or IPv6 address", examples=["203.0.113.7"]),
    AfterValidator(_ip),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
OneRate = Annotated[str, Field(max_length=80, examples=["100/minute", "burst=20/second"])]
Rate = (
    OneRate
    | Annotated[list[OneRate], Field(max_length=MAX_LIMITS)]
    | Annotated[
        dict[Annotated[str, Field(max_length=32)], OneRate],
        Field(max_length=MAX_LIMITS, examples=[{"burst": "20/second", "day": "50000/day"}]),
    ]
)
Cost = Annotated[
    StrictInt,
    Field(
        ge=0,
        le=MAX_COST,
        description="what this request spends from rate limits and credits (0: nothing)",
    ),
]
RoleName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,63}$", examples=["reader"])]
RoleNames = Annotated[list[RoleName], Field(max_length=MAX_ROLES)]
Credits = Annotated[StrictInt, Field(ge=0, le=10**15)]
Refill = Literal["day", "month", "daily", "monthly"]
Networks = Annotated[
    list[Annotated[str, Field(max_length=64)]],
    Field(max_length=256, examples=[["10.0.0.0/8", "2001:db8::/32"]]),
]
Metadata = dict[str, Any]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- verification --------------------------------------------------------------------------


class TokenVerifyRequest(_Body):
    """Verify a secret token."""

    token: str
    scopes: Scopes = []
    ip: IPAddress | None = None
    cost: Cost = 1


class PairVerifyRequest(_Body):
    """Verify a client_id + secret pair (a token or an imported article-format secret)."""

    client_id: str
    secret: str
    scopes: Scopes = []
    ip: IPAddress | None = None
    cost: Cost = 1


VerifyRequest = TokenVerifyRequest | PairVerifyRequest
VERIFY_REQUEST: Final[TypeAdapter[VerifyRequest]] = TypeAdapter(VerifyRequest)


class RateLimitOut(BaseModel):
    """One named rate limit after this verification."""

    name: str = "default"
    holder: Literal["secret", "owner"] = "secret"
    limit: int
    window: int = Field(0, description="seconds")
    remaining: int
    reset: int = Field(description="epoch seconds when a slot frees up")


class CreditOut(BaseModel):
    holder: Literal["secret", "owner"]
    allowance: int
    remaining: int
    refills_at: int | None = Field(None, description="epoch seconds (null: never)")


class LimitedByOut(BaseModel):
    """Which limit refused the verification."""

    holder: Literal["secret", "owner"]
    name: str = Field(description="the rate limit's name, or 'credits'")
    kind: Literal["rate", "credits"]


class VerificationOut(BaseModel):
    """POST /v1/verify's answer: ``valid`` and one ``code``; details once the secret matched.

    Open to new members, so a client keeps working when the answer grows.
    """

    model_config = ConfigDict(extra="allow")

    valid: bool
    code: Code
    client_id: str | None
    secret_id: str | None
    scopes: list[str]
    owner: str | None
    name: str | None
    metadata: Metadata
    expires_at: datetime | None
    roles: list[str] = Field([], description="the secret's roles (scopes holds theirs too)")
    ratelimit: RateLimitOut | None = Field(
        None, description="the tightest limit (the refusing one): see limits for all"
    )
    limits: list[RateLimitOut] = []
    remaining: int | None = Field(None, description="credits left (null: unlimited)")
    credits: list[CreditOut] = []
    limited_by: LimitedByOut | None = None
    retry_after: float | None = Field(None, description="seconds to wait when limited")


# -- clients -------------------------------------------------------------------------------


class ClientCreate(_Body):
    name: Name
    owner: Name | None = None
    metadata: Metadata | None = None


class ClientPatch(_Body):
    """Only the fields present change; ``owner: null`` clears the owner."""

    name: Name | None = None
    owner: Name | None = None
    metadata: Metadata | None = None
    enabled: StrictBool | None = None


class ClientOut(BaseModel):
    client_id: str
    name: str
    owner: str | None
    metadata: Metadata
    enabled: bool
    created_at: datetime


class ClientPage(BaseModel):
    """One page of clients; pass ``next`` as ``after`` for the next page (null: no more)."""

    items: list[ClientOut]
    next: str | None


# -- secrets -------------------------------------------------------------------------------


class _SecretFields(_Body):
    """The fields an admin sets on a secret, the same when it is issued and when changed."""

    scopes: Scopes = []
    name: Name | None = None
    expires_in: Duration | None = None
    expires_at: Timestamp | None = None
    rate: Rate | None = None
    credits: Credits | None = None
    refill: Refill | None = None
    allowed_ips: Networks = []
    roles: RoleNames = []


class SecretIssue(_SecretFields):
    """``rate``, ``credits`` (refilled each ``refill``) and ``allowed_ips`` limit its use."""


class SecretPatch(_SecretFields):
    """Only the fields present change; null removes an expiry or a limit."""


class RevokeBody(_Body):
    reason: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class RotateBody(_Body):
    grace: Duration = Field(
        "0s", description="how long the old secret stays valid", examples=["24h"]
    )


class NamedRateOut(BaseModel):
    name: str
    rate: str = Field(examples=["20/second"])
    limit: int
    window: int = Field(description="seconds")


class SecretOut(BaseModel):
    secret_id: str
    client_id: str
    name: str | None
    scopes: list[str]
    prefix: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_reason: str | None
    last_used_at: datetime | None
    usage_count: int
    rotated_from: str | None
    replaced_by: str | None
    rate_limit: str | None = Field(None, description="the first rate limit (see rate_limits)")
    rate_limits: list[NamedRateOut] = []
    credits: int | None = None
    refill: str | None = None
    allowed_ips: list[str] = []
    roles: list[str] = []
    legacy_id: str | None = Field(
        None, description="for a key imported from another library: its drf:/keygate: handle"
    )


class IssuedOut(SecretOut):
    """A new secret with its token: the only time the token is shown."""

    token: str


class SecretList(BaseModel):
    items: list[SecretOut]


# -- audit ---------------------------------------------------------------------------------


class AuditEventOut(BaseModel):
    id: int | None
    at: datetime
    actor: str | None
    action: str
    target_type: str
    target_id: str
    before: Metadata | None
    after: Metadata | None


class AuditPage(BaseModel):
    """Events oldest first; pass ``next`` as ``after`` for the next page (null: no more)."""

    items: list[AuditEventOut]
    next: int | None


# -- owners and roles ------------------------------------------------------------------------


class OwnerPut(_Body):
    """An owner's limits, all of them: fields left out are removed."""

    rate: Rate | None = None
    credits: Credits | None = None
    refill: Refill | None = None


class OwnerOut(BaseModel):
    owner: str
    rate_limits: list[NamedRateOut]
    credits: int | None
    refill: str | None
    updated_at: datetime | None


class RoleCreate(_Body):
    name: RoleName
    scopes: Scopes
    description: Annotated[str, Field(max_length=500)] | None = None


class RolePatch(_Body):
    """Only the fields present change."""

    scopes: Scopes | None = None
    description: Annotated[str, Field(max_length=500)] | None = None


class RoleOut(BaseModel):
    name: str
    scopes: list[str]
    description: str | None
    created_at: datetime | None
    updated_at: datetime | None


class RoleList(BaseModel):
    items: list[RoleOut]
