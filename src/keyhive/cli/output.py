"""How commands print: JSON for scripts, rich tables for people, one-time tokens apart.

A one-time token is the only thing a command writes to stdout in human mode, so
``TOKEN=$(keyhive secret issue ...)`` captures it; the details and the warning go to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from keyhive.core.model import Client, Secret

ONCE_WARNING = "Store it now: it is shown this once and cannot be shown again."


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def console(*, stderr: bool = False) -> Console:
    """A console made per call, so it writes to whatever sys.stdout is now (tests swap it)."""
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else "-"


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    stderr: bool = False,
) -> None:
    """A table whose first column (an id) never wraps and whose cells fold, never truncate."""
    grid = Table(title=title, title_justify="left")
    for index, name in enumerate(columns):
        grid.add_column(name, overflow="fold", no_wrap=index == 0)
    for row in rows:
        grid.add_row(*row)
    console(stderr=stderr).print(grid)


def record(title: str, fields: Mapping[str, str], *, stderr: bool = False) -> None:
    """One object as a two-column table of field and value."""
    table(title, ("field", "value"), fields.items(), stderr=stderr)


def message(text: str, *, stderr: bool = False) -> None:
    click.echo(text, err=stderr)


def secret_status(secret: Secret, now: datetime) -> str:
    """What a secret answers now: active, expired, revoked, or valid until a grace end."""
    if secret.is_revoked(now):
        return "revoked"
    if secret.revoked_at is not None:
        return f"grace until {when(secret.revoked_at)}"
    if secret.is_expired(now):
        return "expired"
    return "active"


def client_fields(client: Client) -> dict[str, str]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "owner": client.owner or "-",
        "enabled": "yes" if client.enabled else "no",
        "metadata": json.dumps(dict(client.metadata), sort_keys=True),
        "created_at": when(client.created_at),
    }


def secret_fields(secret: Secret, now: datetime) -> dict[str, str]:
    fields = {
        "secret_id": secret.secret_id,
        "client_id": secret.client_id,
        "name": secret.name or "-",
        "scopes": " ".join(secret.scopes) or "-",
        "status": secret_status(secret, now),
        "expires_at": when(secret.expires_at),
        "created_at": when(secret.created_at),
    }
    if secret.rate_limits:
        fields["rate_limit"] = " ".join(str(limit) for limit in secret.rate_limits)
    if secret.roles:
        fields["roles"] = " ".join(secret.roles)
    if secret.credits is not None:
        fields["credits"] = f"{secret.credits}" + (f" per {secret.refill}" if secret.refill else "")
    if secret.allowed_ips:
        fields["allowed_ips"] = " ".join(secret.allowed_ips)
    if secret.revoked_reason:
        fields["revoked_reason"] = secret.revoked_reason
    if secret.rotated_from:
        fields["rotated_from"] = secret.rotated_from
    if secret.replaced_by:
        fields["replaced_by"] = secret.replaced_by
    return fields


SECRET_COLUMNS = ("secret_id", "name", "scopes", "status", "expires", "last used", "uses")


def secret_rows(secrets: Iterable[Secret], now: datetime) -> list[list[str]]:
    return [
        [
            s.secret_id,
            s.name or "-",
            " ".join(s.scopes) or "-",
            secret_status(s, now)
            if s.prefix is not None
            else secret_status(s, now) + " (imported)",
            when(s.expires_at),
            when(s.last_used_at),
            str(s.usage_count),
        ]
        for s in secrets
    ]


def one_time_token(token: str, title: str, fields: Mapping[str, str]) -> None:
    """Details and the warning on stderr, the token alone on stdout."""
    record(title, fields, stderr=True)
    click.echo(token)
    message(ONCE_WARNING, stderr=True)
