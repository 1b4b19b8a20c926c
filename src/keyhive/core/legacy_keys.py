"""Keys that other libraries issued, which keyhive imported so that nobody is mailed a
new key: their shapes, and the public handle (``legacy_id``) each is looked up by.

Both libraries put a public prefix in the key and store it beside the hash, like
keyhive's own ``secret_id``:

- djangorestframework-api-key: ``<prefix>.<secret>`` (8 and 32 letters and digits by
  default), presented as ``Authorization: Api-Key <key>``; looked up as ``drf:<prefix>``.
- fastapi-keygate: ``kg_<prefix>_<secret>`` (8 hex digits, then 43 base64url
  characters), presented as ``X-API-Key`` or Bearer; looked up as ``keygate:<prefix>``.

A shape says nothing about validity: the stored hash decides, as for every secret. Only
the first stage's failure path (not a keyhive token) asks these questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from keyhive.core.errors import InvalidInput

DRF: Final = "drf-api-key"
KEYGATE: Final = "fastapi-keygate"
FORMATS: Final = (DRF, KEYGATE)

_DRF_KEY: Final = re.compile(r"([A-Za-z0-9]{1,8})\.[A-Za-z0-9]{1,128}")
_KEYGATE_KEY: Final = re.compile(r"kg_([A-Za-z0-9]{1,16})_[A-Za-z0-9_\-]{1,128}")
_PREFIX: Final = {DRF: re.compile(r"[A-Za-z0-9]{1,8}"), KEYGATE: re.compile(r"[A-Za-z0-9]{1,16}")}
_HANDLE: Final = {DRF: "drf", KEYGATE: "keygate"}


def legacy_id_of(key: str) -> str | None:
    """The handle a presented key would be stored under, or None if it has no known shape."""
    match = _DRF_KEY.fullmatch(key)
    if match is not None:
        return f"drf:{match.group(1)}"
    match = _KEYGATE_KEY.fullmatch(key)
    if match is not None:
        return f"keygate:{match.group(1)}"
    return None


def legacy_id(format_: str, prefix: object) -> str | None:
    """The handle for a stored key's ``prefix`` in ``format_``; None if it is not one."""
    pattern = _PREFIX.get(format_)
    if pattern is None or not isinstance(prefix, str) or not pattern.fullmatch(prefix):
        return None
    return f"{_HANDLE[format_]}:{prefix}"


@dataclass(frozen=True, slots=True)
class LegacyKey:
    """One exported row of another library's key table, read into keyhive's terms.

    ``stored`` is the library's hash string (never the key). ``holder`` groups keys
    under one client: fastapi-keygate's ``owner_id``; None for djangorestframework-api-key,
    whose keys stand alone (one client each).
    """

    format: str
    legacy_id: str
    stored: str = field(repr=False)
    name: str | None = None
    holder: str | None = None
    scopes: tuple[str, ...] = ()
    rate: tuple[str, ...] = ()
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


def read_row(format_: str, row: object, *, resource: str = "api") -> LegacyKey:
    """A row of ``format_``'s key table (a JSON object); InvalidInput says what is wrong.

    djangorestframework-api-key (its ``APIKey`` table): ``prefix``, ``hashed_key``,
    ``name``, ``revoked``, ``expiry_date`` (``id`` and ``created`` are read and ignored).
    fastapi-keygate (``keygate_keys``): ``prefix``, ``key_hash``, ``owner_id``, ``name``,
    ``per_minute``, ``per_hour``, ``revoked_at``, ``expires_at``, ``scopes`` (space
    separated words; ``read`` becomes ``<resource>:read``, ``*`` stays ``*``).
    """
    if not isinstance(row, dict):
        raise InvalidInput("expected a JSON object")
    if format_ == DRF:
        return _drf(row)
    if format_ == KEYGATE:
        return _keygate(row, resource)
    raise InvalidInput(f"unknown format {format_!r}; use {' or '.join(FORMATS)}")


def _drf(row: dict[str, Any]) -> LegacyKey:
    _known(row, {"id", "prefix", "hashed_key", "name", "revoked", "expiry_date", "created"})
    handle = legacy_id(DRF, row.get("prefix"))
    if handle is None:
        raise InvalidInput("prefix must be 1 to 8 letters and digits")
    stored = _text(row, "hashed_key", 150)
    revoked = row.get("revoked", False)
    if not isinstance(revoked, bool) and revoked not in (0, 1):
        raise InvalidInput("revoked must be true or false")
    return LegacyKey(
        format=DRF,
        legacy_id=handle,
        stored=stored,
        name=_optional_text(row, "name"),
        expires_at=_when(row, "expiry_date"),
        revoked_at=_REVOKED if revoked else None,
    )


def _keygate(row: dict[str, Any], resource: str) -> LegacyKey:
    _known(
        row,
        {
            "id", "prefix", "key_hash", "owner_id", "name", "per_minute", "per_hour",
            "created_at", "revoked_at", "expires_at", "scopes",
        },
    )  # fmt: skip
    handle = legacy_id(KEYGATE, row.get("prefix"))
    if handle is None:
        raise InvalidInput("prefix must be 1 to 16 letters and digits")
    rate = []
    for column, unit in (("per_minute", "minute"), ("per_hour", "hour")):
        value = row.get(column)
        if value is not None:
            if type(value) is not int or value < 1:
                raise InvalidInput(f"{column} must be a positive whole number or null")
            rate.append(f"{unit}={value}/{unit}")
    words = row.get("scopes") or ""
    if not isinstance(words, str):
        raise InvalidInput("scopes must be space-separated text")
    return LegacyKey(
        format=KEYGATE,
        legacy_id=handle,
        stored=_text(row, "key_hash", 64),
        name=_optional_text(row, "name"),
        holder=_text(row, "owner_id", 200),
        scopes=tuple(w if w == "*" or ":" in w else f"{resource}:{w}" for w in words.split()),
        rate=tuple(rate),
        expires_at=_when(row, "expires_at"),
        revoked_at=_when(row, "revoked_at"),
    )


#: A key revoked in the library before the import (djangorestframework-api-key keeps
#: only a flag): revoked since long before anything keyhive records.
_REVOKED: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _known(row: dict[str, Any], fields: set[str]) -> None:
    unknown = sorted(set(row) - fields)
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0][:40]!r}")


def _text(row: dict[str, Any], name: str, limit: int) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidInput(f"{name} must be text of 1 to {limit} characters")
    return value


def _optional_text(row: dict[str, Any], name: str) -> str | None:
    value = row.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text")
    return value[:200]


def _when(row: dict[str, Any], name: str) -> datetime | None:
    """An ISO 8601 time; one without a zone is UTC (both libraries store UTC)."""
    value = row.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be an ISO 8601 time or null")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO 8601 time or null") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
