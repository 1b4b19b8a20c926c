"""Reading the dashboard's forms into facade arguments: text fields to scopes, limits, times.

Empty optional fields mean "none"; what cannot be read raises InvalidInput naming the
field, so the page can say what to fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from starlette.datastructures import FormData

from keyhive.core.errors import InvalidInput

_SEPARATORS: Final = re.compile(r"[\s,]+")
_MAX_FIELD: Final = 16_384


def field(form: Mapping[str, Any], name: str) -> str:
    """A text field, stripped ('' when absent); a file or an oversized value is refused."""
    value = form.get(name, "")
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text", field=name)
    if len(value) > _MAX_FIELD:
        raise InvalidInput(f"{name} is too long", field=name)
    return value.strip()


def optional(form: Mapping[str, Any], name: str) -> str | None:
    return field(form, name) or None


def words(form: Mapping[str, Any], name: str) -> list[str]:
    """Items separated by spaces or commas (scopes, networks)."""
    text = field(form, name)
    return [item for item in _SEPARATORS.split(text) if item]


def checked(form: FormData, name: str, *, limit: int = 64) -> list[str]:
    """The values of a group of checkboxes (each ticked box sends one)."""
    values = form.getlist(name)
    if len(values) > limit:
        raise InvalidInput(f"at most {limit} {name}", field=name)
    found = []
    for value in values:
        if not isinstance(value, str) or len(value) > 200:
            raise InvalidInput(f"{name} must be short text", field=name)
        found.append(value.strip())
    return [v for v in found if v]


def count(form: Mapping[str, Any], name: str) -> int | None:
    text = field(form, name)
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 16:
        raise InvalidInput(f"{name} must be a whole number", field=name)
    return int(text)


def choice(form: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> str | None:
    text = field(form, name)
    if not text:
        return None
    if text not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}", field=name)
    return text


def json_object(form: Mapping[str, Any], name: str) -> dict[str, Any]:
    text = field(form, name) or "{}"
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidInput(
            f'{name} must be a JSON object, e.g. {{"plan": "pro"}}', field=name
        ) from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{name} must be a JSON object", field=name)
    return value


def utc_time(form: Mapping[str, Any], name: str) -> datetime | None:
    text = field(form, name)
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{name} must be a UTC time like 2031-01-01T00:00:00Z", field=name
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
