"""Request and response bodies of the webhook API (see server/webhooks.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from keyhive.core.validation import TEXT_PATTERN
from keyhive.core.webhooks import EVENT_TYPES, MAX_DESCRIPTION, MAX_URL
from keyhive.server import patterns

#: ``*`` and EVENT_TYPES (a test keeps the two in step).
EventType = Literal[
    "*",
    "secret.issued",
    "secret.rotated",
    "secret.revoked",
    "secret.expiring",
    "secret.expired",
    "secret.leaked",
    "client.disabled",
    "client.enabled",
    "credits.low",
    "ratelimit.exceeded",
]


#: What ``keyhive.core.webhooks.check_url`` accepts, as a pattern the document can state.
URL_PATTERN: Final = patterns.HTTP_URL


class WebhookCreate(BaseModel):
    """A new endpoint: https URL (http too when private targets are allowed)."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[
        str,
        Field(
            min_length=8,
            max_length=MAX_URL,
            pattern=URL_PATTERN,
            description="http(s), a host (a name, an IPv4 or a bracketed IPv6 address), a port, "
            "path and query; no credentials, no #fragment",
            examples=["https://hooks.example.com/keyhive"],
        ),
    ]
    events: Annotated[
        list[EventType],
        Field(
            min_length=1,
            max_length=len(EVENT_TYPES) + 1,
            description='event types to receive; `["*"]` for all, future ones included',
            examples=[["secret.revoked", "secret.leaked"]],
        ),
    ]
    description: (
        Annotated[str, Field(min_length=1, max_length=MAX_DESCRIPTION, pattern=TEXT_PATTERN)] | None
    ) = None


class WebhookOut(BaseModel):
    webhook_id: str
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None


class WebhookCreated(WebhookOut):
    """The new endpoint with its signing secret: the only time the secret is shown."""

    secret: str = Field(description="Standard Webhooks signing secret, `whsec_` + base64")


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    delivery_id: int
    event_id: str = Field(description="the `webhook-id` header: the same on every retry")
    webhook_id: str
    type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status: int | None = Field(description="the HTTP status of the last answer")
    last_error: str | None
    response_excerpt: str | None = Field(description="the first 200 characters answered")
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    """Newest first; pass ``next`` as ``before`` for older ones (null: no more)."""

    items: list[DeliveryOut]
    next: int | None
