"""Option callbacks that check values while parsing, so bad input is a usage error (exit 2).

Callbacks rather than ParamType subclasses: ParamType is generic in new click only. The
options that several commands share, differing only in their help, are built here too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import click

from keyhive.core import validation as check
from keyhive.core.durations import parse_duration
from keyhive.core.errors import InvalidInput
from keyhive.core.ipallow import normalize_networks
from keyhive.core.quotas import RateLimit, validate_limit_name
from keyhive.core.roles import validate_role_name
from keyhive.core.scopes import validate_scope
from keyhive.core.tokens import validate_prefix

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
Callback = Callable[[click.Context, click.Parameter, Any], Any]


def _checked(check: Callable[[Any], T]) -> Callback:
    """A callback applying ``check`` to a value (or to each of a repeated option's values)."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        try:
            if isinstance(value, tuple):
                return tuple(check(v) for v in value)
            return check(value)
        except InvalidInput as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None

    return callback


def _json_object(value: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value)
    except RecursionError:
        raise InvalidInput("is nested too deep") from None
    except ValueError:
        raise InvalidInput('must be valid JSON, e.g. \'{"plan": "pro"}\'') from None
    if not isinstance(parsed, dict):
        raise InvalidInput("must be a JSON object")
    return check.metadata(parsed)


def _duration(value: str) -> timedelta:
    return parse_duration(value)


def _rate(value: str) -> str:
    """The rate as given, once it reads as one (``100/minute`` or ``burst=20/second``);
    the library parses it again."""
    RateLimit.parse(value)
    return value


def _role(value: str) -> str:
    return validate_role_name(value)


def _limit_name(value: str) -> str:
    return validate_limit_name(value)


def _network(value: str) -> str:
    return normalize_networks([value])[0]


DURATION: Callback = _checked(_duration)
RATE: Callback = _checked(_rate)
ROLE: Callback = _checked(_role)
LIMIT_NAME: Callback = _checked(_limit_name)
NETWORKS: Callback = _checked(_network)
SCOPES: Callback = _checked(validate_scope)
PREFIX: Callback = _checked(validate_prefix)
JSON_OBJECT: Callback = _checked(_json_object)


def scope_option(help: str) -> Callable[[F], F]:
    """The repeatable ``--scope`` of ``secret issue``, ``secret update`` and ``verify``."""
    return click.option(
        "--scope", "scopes", callback=SCOPES, metavar="SCOPE", multiple=True, help=help
    )


def expires_in_option(help: str) -> Callable[[F], F]:
    """The ``--expires-in`` duration of ``secret issue`` and ``secret update``."""
    return click.option("--expires-in", callback=DURATION, metavar="DURATION", help=help)
