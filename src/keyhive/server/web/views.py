"""What each dashboard page shows: plain functions from the facade to template values.

They run in the thread pool (every facade call may touch the database) and raise the
facade's own errors; the dashboard turns those into readable pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from keyhive.core.errors import InvalidInput
from keyhive.core.model import AuditEvent, Secret
from keyhive.service.hive import KeyHive

PAGE_SIZE: Final = 25
#: The secret page's usage periods: (value, label, since, bucket).
RANGES: Final = {
    "24h": ("24 hours", "24h", "hour"),
    "7d": ("7 days", "7d", "hour"),
    "30d": ("30 days", "30d", "day"),
}
STATUSES: Final = {"all": None, "enabled": True, "disabled": False}
ACTIONS: Final = (
    "client.create",
    "client.update",
    "client.disable",
    "client.enable",
    "secret.issue",
    "secret.import",
    "secret.rotate",
    "secret.revoke",
    "secret.update",
    "portal.session.create",
    "portal.session.open",
)
_CHAIN_LIMIT: Final = 25


def status_of(secret: Secret, now: datetime) -> str:
    """What a secret answers now, in words."""
    if secret.is_revoked(now):
        return "revoked"
    if secret.revoked_at is not None:
        return "rotated, valid until " + secret.revoked_at.strftime("%Y-%m-%d %H:%M UTC")
    if secret.is_expired(now):
        return "expired"
    return "active"


def changes(event: AuditEvent) -> str:
    """The fields an event changed, in short (``enabled: true → false``)."""
    before: Mapping[str, Any] = event.before or {}
    after: Mapping[str, Any] = event.after or {}
    if not before:
        return "created"
    changed = [k for k in after if before.get(k) != after.get(k) and k != "usage_count"]
    return "; ".join(f"{k}: {_short(before.get(k))} → {_short(after.get(k))}" for k in changed)


def _short(value: Any) -> str:
    text = "\u2013" if value is None or value == [] else str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def overview(hive: KeyHive) -> dict[str, Any]:
    _, clients = hive.search_clients(limit=1)
    expiring = hive.expiring_secrets("7d", limit=50)
    names = {}
    for secret in expiring:
        if secret.client_id not in names:
            names[secret.client_id] = hive.get_client(secret.client_id).name
    return {
        "section": "overview",
        "clients": clients,
        "active": hive.count_active_secrets(),
        "usage": hive.total_usage("24h", "hour"),
        "expiring": expiring,
        "client_names": names,
    }


def clients(hive: KeyHive, params: Mapping[str, str]) -> dict[str, Any]:
    q = params.get("q", "").strip()
    status = params.get("status", "all")
    if status not in STATUSES:
        raise InvalidInput("status must be all, enabled or disabled", field="status")
    page = _page(params.get("page", "1"))
    found, total = hive.search_clients(
        q or None, enabled=STATUSES[status], limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return {
        "section": "clients",
        "q": q,
        "status": status,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "total": total,
        "clients": found,
        "form": {},
    }


def _page(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text[:7]) <= 10**6:
        raise InvalidInput("page must be a number from 1", field="page")
    return int(text)


def client(hive: KeyHive, client_id: str) -> dict[str, Any]:
    found = hive.get_client(client_id)
    secrets = list(reversed(hive.list_secrets(client_id)))  # newest first
    used = hive.secrets_usage(client_id, "7d", "hour")
    window_len = 7 * 24
    trends = {
        s.secret_id: used[s.secret_id].per_bucket() if s.secret_id in used else [0] * window_len
        for s in secrets
    }
    return {
        "section": "clients",
        "client": found,
        "secrets": secrets,
        "trends": trends,
        "trend_totals": {sid: sum(values) for sid, values in trends.items()},
        "form": {},
        "issued": None,
    }


def secret(hive: KeyHive, secret_id: str, range_: str = "24h") -> dict[str, Any]:
    if range_ not in RANGES:
        raise InvalidInput("range must be 24h, 7d or 30d", field="range")
    found = hive.get_secret(secret_id)
    label, since, bucket = RANGES[range_]
    now = hive.clock.now()
    return {
        "section": "clients",
        "secret": found,
        "client": hive.get_client(found.client_id),
        "revoked": found.is_revoked(now),
        "range": range_,
        "ranges": [(value, text) for value, (text, _, _) in RANGES.items()],
        "usage": hive.usage(secret_id, since, bucket),
        "usage_title": f"Verifications per {bucket}, last {label}",
        "chain": _chain(hive, found),
        "events": hive.search_audit(target_id=secret_id, limit=50),
        "issued": None,
    }


def _chain(hive: KeyHive, start: Secret) -> list[Secret]:
    """The secret's rotation chain, oldest first (bounded, in case of a loop)."""
    back: list[Secret] = []
    current = start
    while current.rotated_from and len(back) < _CHAIN_LIMIT:
        try:
            current = hive.get_secret(current.rotated_from)
        except LookupError:
            break
        back.append(current)
    forward: list[Secret] = []
    current = start
    while current.replaced_by and len(forward) < _CHAIN_LIMIT:
        try:
            current = hive.get_secret(current.replaced_by)
        except LookupError:
            break
        forward.append(current)
    return [*reversed(back), start, *forward]


def audit(hive: KeyHive, params: Mapping[str, str]) -> dict[str, Any]:
    filters = {
        key: params.get(key, "").strip() for key in ("actor", "action", "target", "since", "until")
    }
    before = params.get("before", "")
    if before and (not before.isascii() or not before.isdigit() or len(before) > 19):
        raise InvalidInput("before must be an event id", field="before")
    events = hive.search_audit(
        actor=filters["actor"] or None,
        action=filters["action"] or None,
        target_id=filters["target"] or None,
        since=parse_time(filters["since"], "since"),
        until=parse_time(filters["until"], "until"),
        before_id=int(before) if before else None,
        limit=PAGE_SIZE * 2,
    )
    older = events[-1].id if len(events) == PAGE_SIZE * 2 else None
    return {
        "section": "audit",
        "filters": filters,
        "events": events,
        "older": older,
        "actions": ACTIONS,
    }


def parse_time(text: str, field: str) -> datetime | None:
    """A UTC time typed into a form (``2030-01-01``, ``2030-01-01T10:00``, with or without Z)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{field} must be a time like 2030-01-01T10:00", field=field) from None
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value
