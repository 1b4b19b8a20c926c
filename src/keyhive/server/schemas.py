"""Request and response bodies, as pydantic models: they validate input and feed OpenAPI.

Bodies forbid unknown fields, so a misspelt ``expires_in`` is an error rather than a
secret that silently never expires. The document states every rule the server enforces,
and the models enforce every rule the document states: patterns for names, durations,
rates and networks (each a subset of what the library reads, so whatever the document
allows is accepted), and the rules between fields. Metadata's size and depth, which a
schema cannot express, are described and checked by the library (InvalidInput: 422).
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal, Union

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from typing_extensions import TypeAliasType

from keyhive.core.ipallow import MAX_NETWORKS
from keyhive.core.model import Code
from keyhive.core.quotas import MAX_COST, MAX_LIMITS
from keyhive.core.roles import MAX_ROLES
from keyhive.core.scopes import MAX_SCOPES
from keyhive.core.validation import (
    MAX_ID,
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    MAX_NAME,
    MAX_REASON,
    TEXT_PATTERN,
)
from keyhive.server import patterns

_SCOPE: Final = r"(\*|[A-Za-z0-9_.\-/]{1,64}:([A-Za-z0-9_.\-/]{1,64}|\*))"
SCOPE_PATTERN: Final = f"^{_SCOPE}$"
#: Any duration the library reads (for parameters whose range another parameter sets).
DURATION_PATTERN: Final = r"^([0-9]{1,9}|([0-9]{1,9}[smhdw]){1,5})$"
# What str.split() takes for whitespace among ASCII, and the comma.
_SEPARATOR: Final = r"[\t\n\x0b\x0c\r\x1c-\x1f ,]"
#: One ``?scope=`` value of GET /v1/auth: scopes separated by ASCII whitespace or commas.
SCOPE_LIST_PATTERN: Final = f"^{_SEPARATOR}*({_SCOPE}({_SEPARATOR}+{_SCOPE})*)?{_SEPARATOR}*$"
#: A string or key of metadata: any text but U+0000 (PostgreSQL's jsonb refuses it).
JSONText = Annotated[str, Field(pattern="^[^\\x00]*$")]
_CLOSED: Final = {"additionalProperties": False}  # keys outside patternProperties: none
#: Any JSON value whose strings and keys are JSONText.
JSONValue = TypeAliasType(
    "JSONValue",
    "Union[JSONText, StrictBool, StrictInt, float, None, list[JSONValue], "
    "Annotated[dict[JSONText, JSONValue], Field(json_schema_extra=_CLOSED)]]",
)
_METADATA: Final = (
    f"A JSON object of at most {MAX_METADATA_BYTES} bytes as UTF-8, nested at most "
    f"{MAX_METADATA_DEPTH} levels deep (the object itself is level 1); no string or key "
    "holds U+0000."
)
_EARLIEST: Final = datetime.min.replace(tzinfo=UTC)
_LATEST: Final = datetime.max.replace(tzinfo=UTC)


def _utc(value: datetime) -> datetime:
    """In UTC; an offset that would cross the calendar's edge lands on the edge (an expiry
    before year 1 has passed as surely as one in year 1)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return _EARLIEST if value.year == 1 else _LATEST


def whole(value: object) -> object:
    """A JSON integer: an int, or a number with no fraction (``5.0`` is 5 in JSON Schema);
    never a string or a boolean."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number")
    return value


def _ip(value: str) -> str:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError("ip must be an IPv4 or IPv6 address") from None
    if getattr(address, "scope_id", None):
        raise ValueError("ip must be an IPv4 or IPv6 address without a zone")
    return str(address)


Scope = Annotated[str, Field(pattern=SCOPE_PATTERN, examples=["articles:read"])]
Scopes = Annotated[list[Scope], Field(max_length=MAX_SCOPES)]
Expiry = Annotated[
    str,
    Field(
        pattern=patterns.EXPIRY,
        description=(
            "A positive duration: seconds, or weeks, days, hours, minutes and seconds in "
            "that order, each at most once (90d, 24h, 1h30m, 3600)"
        ),
        examples=["90d", "24h", "1h30m"],
    ),
]
Grace = Annotated[
    str,
    Field(
        pattern=patterns.GRACE,
        description="A duration like expires_in, or 0 / 0s for none",
        examples=["24h"],
    ),
]
Timestamp = Annotated[AwareDatetime, AfterValidator(_utc)]
IPAddress = Annotated[
    str,
    Field(
        max_length=64,
        description="IPv4 or IPv6 address (no zone)",
        examples=["203.0.113.7"],
        json_schema_extra={"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]},
    ),
    AfterValidator(_ip),
]
#: Names, owners and reasons: no control characters, not only whitespace.
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME, pattern=TEXT_PATTERN)]
Reason = Annotated[str, Field(min_length=1, max_length=MAX_REASON, pattern=TEXT_PATTERN)]
Ident = Annotated[str, Field(min_length=1, max_length=MAX_ID, pattern=TEXT_PATTERN)]
_RATE_DESCRIPTION = (
    "N/second, N/minute, N/hour, N/day, or N per a window of seconds, minutes, hours or "
    "days up to 31 days (20/30s, 500/1h); named: burst=20/second"
)
OneRate = Annotated[
    str,
    Field(
        pattern=patterns.NAMED_RATE,
        description=_RATE_DESCRIPTION,
        examples=["100/minute", "burst=20/second"],
    ),
]
LimitName = Annotated[str, Field(pattern=patterns.LIMIT_NAME)]
Rate = (
    OneRate
    | Annotated[list[OneRate], Field(max_length=MAX_LIMITS)]
    | Annotated[
        dict[LimitName, Annotated[str, Field(pattern=patterns.RATE)]],
        Field(
            max_length=MAX_LIMITS,
            examples=[{"burst": "20/second", "day": "50000/day"}],
            json_schema_extra=_CLOSED,
        ),
    ]
)
Cost = Annotated[
    StrictInt,
    Field(
        ge=0,
        le=MAX_COST,
        description="what this request spends from rate limits and credits (0: nothing)",
    ),
    BeforeValidator(whole),
]
RoleName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,63}$", examples=["reader"])]
RoleNames = Annotated[list[RoleName], Field(max_length=MAX_ROLES)]
Credits = Annotated[StrictInt, Field(ge=0, le=10**15), BeforeValidator(whole)]
Refill = Literal["day", "month", "daily", "monthly"]
Networks = Annotated[
    list[Annotated[str, Field(max_length=64, pattern=patterns.NETWORK)]],
    Field(
        max_length=MAX_NETWORKS,
        description="IPv4 or IPv6 networks in CIDR notation (a bare address is one host)",
        examples=[["10.0.0.0/8", "2001:db8::/32"]],
    ),
]
Metadata = Annotated[
    dict[JSONText, JSONValue],
    Field(description=_METADATA, examples=[{"plan": "pro"}], json_schema_extra=_CLOSED),
]


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

    name: Name | SkipJsonSchema[None] = None  # a name cannot be removed
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


_REFILL_NEEDS_CREDITS: Final[dict[str, Any]] = {  # credits are refilled only if given
    "if": {"properties": {"refill": {"type": "string"}}, "required": ["refill"]},
    "then": {"properties": {"credits": {"type": "integer"}}, "required": ["credits"]},
}
_FIELD_RULES: Final[dict[str, Any]] = {
    "allOf": [
        {  # an expiry is given one way
            "if": {"properties": {"expires_in": {"type": "string"}}, "required": ["expires_in"]},
            "then": {"properties": {"expires_at": {"type": "null"}}},
        },
        _REFILL_NEEDS_CREDITS,
    ]
}


class _SecretFields(_Body):
    """The fields an admin sets on a secret, the same when it is issued and when changed.

    ``expires_in`` and ``expires_at`` are not both given; ``refill`` comes with ``credits``.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_FIELD_RULES)

    scopes: Scopes = []
    name: Name | None = None
    expires_in: Expiry | None = None
    expires_at: Timestamp | None = None
    rate: Rate | None = None
    credits: Credits | None = None
    refill: Refill | None = None
    allowed_ips: Networks = []
    roles: RoleNames = []

    @model_validator(mode="after")
    def _rules(self) -> _SecretFields:
        if self.expires_in is not None and self.expires_at is not None:
            raise ValueError("give expires_in or expires_at, not both")
        if self.refill is not None and self.credits is None:
            raise ValueError("refill needs credits in the same request")
        return self


class SecretIssue(_SecretFields):
    """``rate``, ``credits`` (refilled each ``refill``) and ``allowed_ips`` limit its use."""


class SecretPatch(_SecretFields):
    """Only the fields present change; null removes an expiry or a limit."""


class RevokeBody(_Body):
    reason: Reason | None = None


class RotateBody(_Body):
    grace: Grace = Field("0s", description="how long the old secret stays valid")


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

    model_config = ConfigDict(extra="forbid", json_schema_extra={"allOf": [_REFILL_NEEDS_CREDITS]})

    rate: Rate | None = None
    credits: Credits | None = None
    refill: Refill | None = None


class OwnerOut(BaseModel):
    owner: str
    rate_limits: list[NamedRateOut]
    credits: int | None
    refill: str | None
    updated_at: datetime | None


RoleDescription = Annotated[str, Field(min_length=1, max_length=500, pattern=TEXT_PATTERN)]


class RoleCreate(_Body):
    name: RoleName
    scopes: Scopes
    description: RoleDescription | None = None


class RolePatch(_Body):
    """Only the fields present change."""

    scopes: Scopes | None = None
    description: RoleDescription | None = None


class RoleOut(BaseModel):
    name: str
    scopes: list[str]
    description: str | None
    created_at: datetime | None
    updated_at: datetime | None


class RoleList(BaseModel):
    items: list[RoleOut]
