"""Webhooks as values and rules: event types, endpoints, deliveries, payloads, retry times.

No I/O here. Deliveries follow the Standard Webhooks specification: each event has one
id (the ``webhook-id`` header, the same on every retry), the body is
``{"type", "timestamp", "data"}`` and is the same on every retry, and receivers check
``webhook-signature`` with the ``standardwebhooks`` library of their language.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from keyhive.core.errors import ConfigurationError, InvalidInput
from keyhive.core.tokens import random_base62

#: Every event type an endpoint can subscribe to (``*`` subscribes to all of them).
EVENT_TYPES: Final = (
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
)
ALL_EVENTS: Final = "*"
#: Sent beside ``secret.revoked`` when the revocation is for a leak (service/leaks.py).
LEAKED: Final = "secret.leaked"
#: Sent by ``POST /v1/webhooks/{id}/test`` to that endpoint only; not subscribable.
TEST_EVENT: Final = "webhook.test"
#: The webhook type of each audited admin action that has one.
AUDIT_TYPES: Final = {
    "secret.issue": "secret.issued",
    "secret.rotate": "secret.rotated",
    "secret.revoke": "secret.revoked",
    "client.disable": "client.disabled",
    "client.enable": "client.enabled",
}
#: Event types deduplicated per secret and period: one row per (type, subject, period).
ONCE: Final = "once"

#: The waits after each failed attempt: 7 tries over about 35 hours.
RETRY_DELAYS: Final = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=8),
    timedelta(hours=24),
)
MAX_ATTEMPTS: Final = len(RETRY_DELAYS) + 1
#: Each wait is moved by up to this share either way, so endpoints that failed together
#: are not all retried in the same second.
JITTER: Final = 0.1
#: An endpoint whose deliveries keep failing this long, with no success between, is
#: disabled (with an audit event).
DISABLE_AFTER: Final = timedelta(days=3)

MAX_WEBHOOKS: Final = 100
MAX_URL: Final = 2048
MAX_DESCRIPTION: Final = 500
#: How much of a receiver's answer is kept with a delivery, to show why it failed.
EXCERPT: Final = 200
_SECRET_PREFIX: Final = "whsec_"
_SECRET_BYTES: Final = 32


class WebhooksUnavailable(ConfigurationError):
    """Webhooks cannot be used here: no durable server key, or the extra is missing."""


class TargetRefused(InvalidInput):
    """A webhook URL points where keyhive does not send (a private address, say)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="url")


@dataclass(frozen=True, slots=True)
class Webhook:
    """An endpoint that receives events. Its signing secret is never part of it."""

    webhook_id: str
    url: str
    events: tuple[str, ...]
    description: str | None
    enabled: bool
    created_at: datetime
    disabled_at: datetime | None = None
    disabled_reason: str | None = None

    def wants(self, event_type: str) -> bool:
        """Whether this endpoint is subscribed to ``event_type`` (and enabled)."""
        return self.enabled and (ALL_EVENTS in self.events or event_type in self.events)

    def to_dict(self) -> dict[str, Any]:
        return {
            "webhook_id": self.webhook_id,
            "url": self.url,
            "events": list(self.events),
            "description": self.description,
            "enabled": self.enabled,
            "created_at": iso(self.created_at),
            "disabled_at": iso(self.disabled_at),
            "disabled_reason": self.disabled_reason,
        }


@dataclass(frozen=True, slots=True)
class NewWebhook:
    """A webhook just created, with its signing secret: shown this once."""

    webhook: Webhook
    secret: str = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {**self.webhook.to_dict(), "secret": self.secret}


@dataclass(frozen=True, slots=True)
class Event:
    """One event, as written to the outbox. ``subject`` is the secret or client it is
    about; ``period`` is set for events sent at most once per subject and period."""

    event_id: str
    type: str
    at: datetime
    data: Mapping[str, Any]
    subject: str | None = None
    period: str | None = None

    def body(self) -> bytes:
        """The request body: the same bytes on every attempt, so the signature covers them."""
        document = {"type": self.type, "timestamp": iso(self.at), "data": self.data}
        return json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Signal:
    """Something verification noticed (``credits.low``, ``ratelimit.exceeded``), to become
    an event at most once per (type, subject, period) however often it is reported."""

    type: str
    subject: str
    period: str
    at: datetime
    data: Mapping[str, Any]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.type, self.subject, self.period)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event on its way to one endpoint: its state after the latest attempt."""

    delivery_id: int
    event_id: str
    webhook_id: str
    type: str
    status: str  # pending, delivered, failed (all attempts used)
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    response_excerpt: str | None = None
    delivered_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery_id,
            "event_id": self.event_id,
            "webhook_id": self.webhook_id,
            "type": self.type,
            "status": self.status,
            "attempts": self.attempts,
            "created_at": iso(self.created_at),
            "next_attempt_at": iso(self.next_attempt_at),
            "last_attempt_at": iso(self.last_attempt_at),
            "last_status": self.last_status,
            "last_error": self.last_error,
            "response_excerpt": self.response_excerpt,
            "delivered_at": iso(self.delivered_at),
        }


PENDING: Final = "pending"
DELIVERED: Final = "delivered"
FAILED: Final = "failed"


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def new_webhook_id() -> str:
    return "wh_" + random_base62(16)


def new_event_id() -> str:
    """A Standard Webhooks message id: unique, the same on every retry of the event."""
    return "msg_" + random_base62(22)


def new_secret() -> tuple[str, bytes]:
    """A signing secret: ``whsec_<base64>`` as shown to the owner, and its raw bytes."""
    raw = secrets.token_bytes(_SECRET_BYTES)
    return _SECRET_PREFIX + base64.b64encode(raw).decode("ascii"), raw


def secret_text(raw: bytes) -> str:
    return _SECRET_PREFIX + base64.b64encode(raw).decode("ascii")


def check_events(events: object) -> tuple[str, ...]:
    """The subscribed types, sorted and unique; ``["*"]`` for every type."""
    if isinstance(events, str) or not isinstance(events, Iterable):
        raise InvalidInput("events must be a list of event types", field="events")
    wanted = list(events)
    if not wanted:
        raise InvalidInput("events must name at least one event type (or *)", field="events")
    if len(wanted) > len(EVENT_TYPES) + 1:
        raise InvalidInput("events lists too many types", field="events")
    for name in wanted:
        if name != ALL_EVENTS and name not in EVENT_TYPES:
            shown = name if isinstance(name, str) and name.isprintable() and len(name) < 40 else ""
            raise InvalidInput(
                f"unknown event type {shown!r}: use {', '.join(EVENT_TYPES)} or *",
                field="events",
            )
    if ALL_EVENTS in wanted:
        return (ALL_EVENTS,)
    return tuple(sorted(set(wanted)))


def check_url(url: object, *, allow_private: bool) -> str:
    """A webhook URL's form: http(s), a host, no credentials, no fragment.

    https is required unless private targets are allowed (a test or an internal
    network): a public receiver gets its events encrypted. Where the host points is
    checked apart (:mod:`keyhive.service.webhook_http`), on creation and on every send.
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("url must be a URL", field="url")
    if len(url) > MAX_URL:
        raise InvalidInput(f"url is longer than {MAX_URL} characters", field="url")
    if not url.isprintable() or any(c.isspace() for c in url):
        raise InvalidInput("url contains spaces or control characters", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput("url cannot be read", field="url") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("url must start with https:// (or http://)", field="url")
    if parts.scheme == "http" and not allow_private:
        raise InvalidInput(
            "url must be https (http only with KEYHIVE_WEBHOOK_ALLOW_PRIVATE)", field="url"
        )
    if not parts.hostname:
        raise InvalidInput("url has no host", field="url")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(
            "url must not hold credentials: receivers check the signature instead", field="url"
        )
    if parts.fragment or url.endswith("#"):
        raise InvalidInput("url must not have a #fragment", field="url")
    if port == 0:
        raise InvalidInput("url has port 0", field="url")
    return url


def retry_at(attempts: int, now: datetime, rng: random.Random | None = None) -> datetime | None:
    """When to try again after ``attempts`` failed attempts; None once all are used."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = RETRY_DELAYS[attempts - 1]
    spread = (rng or random).uniform(-JITTER, JITTER)
    return now + delay * (1 + spread)


def audit_data(event_after: Mapping[str, Any] | None, target_type: str) -> dict[str, Any]:
    """The data of an event caused by an admin change: the record after the change."""
    return {target_type: dict(event_after) if event_after is not None else None}
