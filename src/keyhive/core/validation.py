"""Checks for admin inputs, so bad values become InvalidInput with a clear message."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from keyhive.core.errors import InvalidInput

MAX_ID: Final = 128
MAX_NAME: Final = 200
MAX_REASON: Final = 500
MAX_METADATA_BYTES: Final = 16_384


def text(value: object, field: str, *, limit: int = MAX_NAME, optional: bool = False) -> str | None:
    """A non-empty, printable string of at most ``limit`` characters (or None if optional)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string", field=field)
    if not value.strip():
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(value) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field=field)
    if not value.isprintable():
        raise InvalidInput(f"{field} contains control characters", field=field)
    return value


def required_text(value: object, field: str, *, limit: int = MAX_NAME) -> str:
    """Like :func:`text`, never None."""
    result = text(value, field, limit=limit)
    assert result is not None
    return result


def identifier(value: object, field: str) -> str:
    """An id given to an admin operation: a printable string of at most 128 characters."""
    return required_text(value, field, limit=MAX_ID)


def metadata(value: object) -> dict[str, Any]:
    """A JSON object of at most 16 KiB."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput("metadata must be a JSON object", field="metadata")
    try:
        encoded = json.dumps(dict(value), allow_nan=False, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        # RecursionError: nesting too deep for json; still the caller's bad input.
        raise InvalidInput("metadata must be JSON-serialisable", field="metadata") from None
    if len(encoded) > MAX_METADATA_BYTES:
        raise InvalidInput(f"metadata is larger than {MAX_METADATA_BYTES} bytes", field="metadata")
    parsed: dict[str, Any] = json.loads(encoded)
    return parsed


def aware(value: object, field: str) -> datetime:
    """A timezone-aware datetime."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(f"{field} must be a timezone-aware datetime", field=field)
    return value
