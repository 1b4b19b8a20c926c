"""``keyhive secret ...``: issue, list, revoke, rotate and update secrets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import click

from keyhive.core.model import Secret

from . import output
from ._app import Runtime, json_option, pass_runtime
from ._params import DURATION, NETWORKS, RATE, ROLE, expires_in_option, scope_option

F = TypeVar("F", bound=Callable[..., Any])


@click.group("secret")
def secret() -> None:
    """Manage secrets: each belongs to one client and carries its own scopes."""


def _changed(runtime: Runtime, changed: Secret, as_json: bool, title: str) -> None:
    if as_json:
        output.emit_json(changed.to_dict())
    else:
        now = runtime.hive().clock.now()
        output.record(title, output.secret_fields(changed, now))


def limit_options(func: F) -> F:
    """--rate, --credits, --refill and --allow-ip, shared by ``issue`` and ``update``."""
    options = [
        click.option(
            "--rate",
            callback=RATE,
            metavar="[NAME=]RATE",
            multiple=True,
            help="Sliding-window rate limit such as 100/minute, or named: burst=20/second "
            "(repeatable; a verification must pass all).",
        ),
        click.option(
            "--role",
            "roles",
            callback=ROLE,
            metavar="ROLE",
            multiple=True,
            help="A role whose scopes the secret also holds (repeatable).",
        ),
        click.option(
            "--credits",
            type=click.IntRange(0, 10**15),
            metavar="N",
            help="Verifications the secret may spend (then USAGE_EXCEEDED).",
        ),
        click.option(
            "--refill",
            type=click.Choice(["day", "month"]),
            help="Refill the credits each UTC day or month [default: never].",
        ),
        click.option(
            "--allow-ip",
            "allowed_ips",
            callback=NETWORKS,
            metavar="CIDR",
            multiple=True,
            help="Accept callers only from this network, e.g. 10.0.0.0/8 (repeatable).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@secret.command("issue")
@click.argument("client_id")
@scope_option("A scope the secret grants (repeatable): resource:action, resource:* or *.")
@expires_in_option("Lifetime such as 90d or 24h [default: none].")
@click.option("--name", help="A label, e.g. where the secret is deployed.")
@limit_options
@json_option
@pass_runtime
def issue(
    runtime: Runtime,
    client_id: str,
    scopes: tuple[str, ...],
    expires_in: timedelta | None,
    name: str | None,
    rate: tuple[str, ...],
    roles: tuple[str, ...],
    credits: int | None,
    refill: str | None,
    allowed_ips: tuple[str, ...],
    as_json: bool,
) -> None:
    """Issue a secret token; it is printed this once and stored only as a hash."""
    if refill is not None and credits is None:
        raise click.UsageError("--refill needs --credits")
    hive = runtime.hive()
    issued = hive.issue_secret(
        client_id,
        scopes=scopes,
        name=name,
        expires_in=expires_in,
        rate=list(rate) or None,
        roles=roles,
        credits=credits,
        refill=refill,
        allowed_ips=allowed_ips,
        actor=runtime.actor,
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
@scope_option("Replace the scopes with these (repeatable); omit to keep them.")
@expires_in_option("New lifetime from now, such as 90d.")
@click.option("--no-expiry", is_flag=True, help="Remove the expiry.")
@click.option("--name", help="A new label.")
@limit_options
@click.option("--no-rate", is_flag=True, help="Remove every rate limit.")
@click.option("--no-roles", is_flag=True, help="Take every role from the secret.")
@click.option("--no-credits", is_flag=True, help="Remove the credits (unlimited use).")
@click.option("--clear-ips", is_flag=True, help="Remove the IP allowlist (any caller).")
@json_option
@pass_runtime
def update(
    runtime: Runtime,
    secret_id: str,
    scopes: tuple[str, ...],
    expires_in: timedelta | None,
    no_expiry: bool,
    name: str | None,
    rate: tuple[str, ...],
    roles: tuple[str, ...],
    credits: int | None,
    refill: str | None,
    allowed_ips: tuple[str, ...],
    no_rate: bool,
    no_roles: bool,
    no_credits: bool,
    clear_ips: bool,
    as_json: bool,
) -> None:
    """Change a secret's scopes, expiry, name or limits; the change takes effect at once.

    New --credits start a fresh count; --rate, --role and --allow-ip replace all the
    secret's rate limits, roles or allowed networks.
    """
    for given, flag, other in (
        (expires_in is not None, no_expiry, "--expires-in or --no-expiry"),
        (bool(rate), no_rate, "--rate or --no-rate"),
        (bool(roles), no_roles, "--role or --no-roles"),
        (
            credits is not None or refill is not None,
            no_credits,
            "--credits/--refill or --no-credits",
        ),
        (bool(allowed_ips), clear_ips, "--allow-ip or --clear-ips"),
    ):
        if given and flag:
            raise click.UsageError(f"give {other}, not both")
    changes: dict[str, Any] = _limit_changes(
        rate, credits, refill, allowed_ips, no_rate, no_credits, clear_ips
    )
    if scopes:
        changes["scopes"] = scopes
    if roles or no_roles:
        changes["roles"] = roles
    if expires_in is not None:
        changes["expires_in"] = expires_in
    if no_expiry:
        changes["expires_at"] = None
    if name is not None:
        changes["name"] = name
    if not changes:
        raise click.UsageError(
            "nothing to change: give --scope, --role, --expires-in, --no-expiry, --name, "
            "--rate, --credits, --refill, --allow-ip, --no-rate, --no-roles, --no-credits "
            "or --clear-ips"
        )
    changed = runtime.hive().update(secret_id, actor=runtime.actor, **changes)
    _changed(runtime, changed, as_json, "Secret updated")


def _limit_changes(
    rate: tuple[str, ...],
    credits: int | None,
    refill: str | None,
    allowed_ips: tuple[str, ...],
    no_rate: bool,
    no_credits: bool,
    clear_ips: bool,
) -> dict[str, Any]:
    """The limit arguments of :meth:`KeyHive.update` that the flags ask for (None removes)."""
    changes: dict[str, Any] = {}
    if rate or no_rate:
        changes["rate"] = list(rate) or None
    if credits is not None:
        changes["credits"] = credits
    if refill is not None:
        changes["refill"] = refill
    if no_credits:
        changes["credits"] = None
        changes["refill"] = None
    if allowed_ips or clear_ips:
        changes["allowed_ips"] = allowed_ips
    return changes
