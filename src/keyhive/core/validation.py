"""Checks for admin inputs, so bad values become InvalidInput with a clear message.

A value is accepted only if every store can keep it and give it back, and every face
can show it: text is valid Unicode (no lone surrogates, which no UTF-8 encoder writes),
metadata is JSON of bounded size and depth without NUL characters (PostgreSQL's jsonb
refuses U+0000). Checking before any write means a bad value never reaches a
row that would then break every listing that reads it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from keyhive.core.errors import InvalidInput

MAX_ID: Final = 128
MAX_NAME: Final = 200
MAX_REASON: Final = 500
MAX_METADATA_BYTES: Final = 16_384
#: How deeply metadata may nest: the top object is level 1.
MAX_METADATA_DEPTH: Final = 32
#: Characters text may not hold: C0 and C1 controls, DEL, line and paragraph separators,
#: and the bidirectional controls that make text display in another order than it reads.
_FORBIDDEN: Final = r"\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069"
#: Names, owners, reasons and ids: none of the forbidden characters, and not only
#: whitespace. The same regular expression is in the OpenAPI document (ASCII escapes,
#: no lookaround: JSON Schema, Python and pydantic's engine read it alike).
TEXT_PATTERN: Final = f"^[^{_FORBIDDEN}]*[^\\s{_FORBIDDEN}][^{_FORBIDDEN}]*$"
_TEXT: Final = re.compile(TEXT_PATTERN)
#: Suffixes a client_id may not end with: they name HTTP routes under /v1/clients/{id}.
RESERVED_SUFFIXES: Final = ("/secrets", "/disable", "/enable", "/usage")


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
    if not unicode_text(value):
        raise InvalidInput(f"{field} is not valid Unicode text (a lone surrogate)", field=field)
    if _TEXT.fullmatch(value) is None:
        raise InvalidInput(f"{field} contains control characters", field=field)
    return value


def required_text(value: object, field: str, *, limit: int = MAX_NAME) -> str:
    """Like :func:`text`, never None."""
    result = text(value, field, limit=limit)
    assert result is not None
    return result


def identifier(value: object, field: str) -> str:
    """An id given to an admin operation: text (see :func:`text`) of at most 128 characters.

    A client_id never ends with a route's suffix, so ``/v1/clients/{id}/secrets`` can only
    mean the secrets of ``{id}``.
    """
    checked = required_text(value, field, limit=MAX_ID)
    if field == "client_id" and checked.endswith(RESERVED_SUFFIXES):
        raise InvalidInput(
            "client_id must not end with /secrets, /disable, /enable or /usage", field=field
        )
    return checked


def unicode_text(value: str) -> bool:
    """Whether ``value`` encodes as UTF-8, i.e. holds no lone surrogate."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def metadata(value: object) -> dict[str, Any]:
    """A JSON object of at most 16 KiB (as UTF-8) nested at most 32 deep; its JSON copy."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput("metadata must be a JSON object", field="metadata")
    _walk(value)  # before json.dumps, which would recurse as deep as the value goes
    try:
        encoded = json.dumps(dict(value), allow_nan=False, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        raise InvalidInput("metadata must be JSON-serialisable", field="metadata") from None
    try:
        size = len(encoded.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInput(
            "metadata is not valid Unicode text (a lone surrogate)", field="metadata"
        ) from None
    if size > MAX_METADATA_BYTES:
        raise InvalidInput(f"metadata is larger than {MAX_METADATA_BYTES} bytes", field="metadata")
    parsed: dict[str, Any] = json.loads(encoded)
    return parsed


def _walk(value: Mapping[Any, Any]) -> None:
    """Depth, NUL characters and a cap on the number of values, without recursion.

    Every value takes at least a byte of JSON, so more values than the byte limit
    means too large: the walk stops there, whatever the caller passed.
    """
    pending: list[tuple[object, int]] = [(value, 1)]
    seen = 0
    while pending:
        item, depth = pending.pop()
        seen += 1
        if seen > MAX_METADATA_BYTES:
            raise InvalidInput(
                f"metadata is larger than {MAX_METADATA_BYTES} bytes", field="metadata"
            )
        if isinstance(item, str):
            if "\x00" in item:
                raise InvalidInput("metadata must not contain NUL characters", field="metadata")
        elif isinstance(item, (Mapping, list, tuple)):
            if depth > MAX_METADATA_DEPTH:
                raise InvalidInput(
                    f"metadata is nested deeper than {MAX_METADATA_DEPTH} levels",
                    field="metadata",
                )
            if isinstance(item, Mapping):
                for key, inner in item.items():
                    pending.append((key, depth))
                    pending.append((inner, depth + 1))
            else:
                pending.extend((inner, depth + 1) for inner in item)


def aware(value: object, field: str) -> datetime:
    """A timezone-aware datetime."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(f"{field} must be a timezone-aware datetime", field=field)
    return value
