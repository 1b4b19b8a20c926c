"""``keyhive secret ...``: issue, list, revoke, rotate and update secrets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from keyhive.model import Secret

from . import output
from ._app import Runtime, json_option, pass_runtime
from ._params import DURATION, SCOPES


@click.group("secret")
def secret() -> None:
    """Manage secrets: each belongs to one client and carries its own scopes."""


def _changed(runtime: Runtime, changed: Secret, as_json: bool, title: str) -> None:
    if as_json:
        output.emit_json(changed.to_dict())
    else:
        now = runtime.hive().clock.now()
        output.record(title, output.secret_fields(changed, now))


@secret.command("issue")
@click.argument("client_id")
@click.option(
    "--scope",
    "scopes",
    callback=SCOPES,
    metavar="SCOPE",
    multiple=True,
    help="A scope the secret grants (repeatable): resource:action, resource:* or *.",
)
@click.option(
    "--expires-in",
    callback=DURATION,
    metavar="DURATION",
    help="Lifetime such as 90d or 24h [default: none].",
)
@click.option("--name", help="A label, e.g. where the secret is deployed.")
@json_option
@pass_runtime
def issue(
    runtime: Runtime,
    client_id: str,
    scopes: tuple[str, ...],
    expires_in: timedelta | None,
    name: str | None,
    as_json: bool,
) -> None:
    """Issue a secret token; it is printed this once and stored only as a hash."""
    hive = runtime.hive()
    issued = hive.issue_secret(
        client_id, scopes=scopes, name=name, expires_in=expires_in, actor=runtime.actor
    )
    if as_json:
        output.emit_json(issued.to_dict())
    else:
        fields = output.secret_fields(issued.secret, hive.clock.now())
        output.one_time_token(issued.token, "Secret issued", fields)


@secret.command("list")
@click.argument("client_id")
@json_option
@pass_runtime
def list_(runtime: Runtime, client_id: str, as_json: bool) -> None:
    """List a client's secrets: ids, scopes and status, never their values."""
    hive = runtime.hive()
    secrets = hive.list_secrets(client_id)
    if as_json:
        output.emit_json([s.to_dict() for s in secrets])
    else:
        output.table(None, output.SECRET_COLUMNS, output.secret_rows(secrets, hive.clock.now()))


@secret.command("revoke")
@click.argument("secret_id")
@click.option("--reason", help="Why, for the audit log (e.g. 'leaked in a build log').")
@json_option
@pass_runtime
def revoke(runtime: Runtime, secret_id: str, reason: str | None, as_json: bool) -> None:
    """Revoke a secret now; it answers REVOKED from the next verification on."""
    changed = runtime.hive().revoke(secret_id, reason=reason, actor=runtime.actor)
    _changed(runtime, changed, as_json, "Secret revoked")


@secret.command("rotate")
@click.argument("secret_id")
@click.option(
    "--grace",
    callback=DURATION,
    metavar="DURATION",
    default="0s",
    show_default=True,
    help="How long the old secret stays valid, e.g. 24h, while deployments switch over.",
)
@json_option
@pass_runtime
def rotate(runtime: Runtime, secret_id: str, grace: timedelta, as_json: bool) -> None:
    """Replace a secret with a new one (same client, scopes, name, expiry); prints it once."""
    hive = runtime.hive()
    issued = hive.rotate(secret_id, grace=grace, actor=runtime.actor)
    old = hive.get_secret(secret_id)
    if as_json:
        output.emit_json({**issued.to_dict(), "old_secret": old.to_dict()})
        return
    fields = output.secret_fields(issued.secret, hive.clock.now())
    fields["old secret"] = f"{secret_id} ({output.secret_status(old, hive.clock.now())})"
    output.one_time_token(issued.token, "Secret rotated", fields)


@secret.command("update")
@click.argument("secret_id")
@click.option(
    "--scope",
    "scopes",
    callback=SCOPES,
    metavar="SCOPE",
    multiple=True,
    help="Replace the scopes with these (repeatable); omit to keep them.",
)
@click.option(
    "--expires-in",
    callback=DURATION,
    metavar="DURATION",
    help="New lifetime from now, such as 90d.",
)
@click.option("--no-expiry", is_flag=True, help="Remove the expiry.")
@click.option("--name", help="A new label.")
@json_option
@pass_runtime
def update(
    runtime: Runtime,
    secret_id: str,
    scopes: tuple[str, ...],
    expires_in: timedelta | None,
    no_expiry: bool,
    name: str | None,
    as_json: bool,
) -> None:
    """Change a secret's scopes, expiry or name; the change takes effect at once."""
    if expires_in is not None and no_expiry:
        raise click.UsageError("give --expires-in or --no-expiry, not both")
    changes: dict[str, Any] = {}
    if scopes:
        changes["scopes"] = scopes
    if expires_in is not None:
        changes["expires_in"] = expires_in
    if no_expiry:
        changes["expires_at"] = None
    if name is not None:
        changes["name"] = name
    if not changes:
        raise click.UsageError(
            "nothing to change: give --scope, --expires-in, --no-expiry or --name"
        )
    changed = runtime.hive().update(secret_id, actor=runtime.actor, **changes)
    _changed(runtime, changed, as_json, "Secret updated")
