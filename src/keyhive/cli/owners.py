"""``keyhive owner ...``: limits an owner's secrets share (every client it owns)."""

from __future__ import annotations

import click

from keyhive.core.model import Owner
from keyhive.core.quotas import RateLimit

from . import output
from ._app import Runtime, json_option, pass_runtime
from ._params import LIMIT_NAME, RATE


@click.group("owner")
def owner() -> None:
    """Limits shared by every secret of every client an owner (the clients' --owner) owns."""


def _show(found: Owner, as_json: bool, title: str) -> None:
    if as_json:
        output.emit_json(found.to_dict())
        return
    fields = {
        "owner": found.owner,
        "rate limits": " ".join(str(limit) for limit in found.rate_limits) or "-",
        "credits": "-"
        if found.credits is None
        else f"{found.credits}" + (f" per {found.refill}" if found.refill else ""),
        "updated_at": output.when(found.updated_at),
    }
    output.record(title, fields)


@owner.command("set")
@click.argument("name", metavar="OWNER")
@click.option(
    "--rate",
    callback=RATE,
    metavar="[NAME=]RATE",
    multiple=True,
    help="Set a rate limit, e.g. 1000/minute or day=50000/day (repeatable); limits of "
    "other names are kept.",
)
@click.option(
    "--no-rate",
    "drop",
    callback=LIMIT_NAME,
    metavar="NAME",
    multiple=True,
    help="Remove the rate limit of this name (repeatable; 'default' for an unnamed one).",
)
@click.option("--credits", type=click.IntRange(0, 10**15), metavar="N", help="Shared credits.")
@click.option(
    "--refill",
    type=click.Choice(["day", "month", "daily", "monthly"]),
    help="Refill the credits each UTC day or month [default: never].",
)
@click.option("--no-credits", is_flag=True, help="Remove the credits (unlimited use).")
@json_option
@pass_runtime
def set_(
    runtime: Runtime,
    name: str,
    rate: tuple[str, ...],
    drop: tuple[str, ...],
    credits: int | None,
    refill: str | None,
    no_credits: bool,
    as_json: bool,
) -> None:
    """Set OWNER's rate limits and credits; its secrets spend them together with their own.

    A verification passes only if the secret's limits and its owner's all have room.
    """
    if no_credits and (credits is not None or refill is not None):
        raise click.UsageError("give --credits/--refill or --no-credits, not both")
    if refill is not None and credits is None:
        raise click.UsageError("--refill needs --credits")
    changes: dict[str, str | None] = {}
    for text in rate:
        limit = RateLimit.parse(text)
        changes[limit.name] = limit.rate
    for gone in drop:
        if gone in changes:
            raise click.UsageError(f"limit {gone} is both set and removed")
        changes[gone] = None
    if not changes and credits is None and not no_credits:
        raise click.UsageError(
            "nothing to change: give --rate, --no-rate, --credits or --no-credits"
        )
    hive = runtime.hive()
    kwargs: dict[str, object] = {}
    if credits is not None:
        kwargs.update(credits=credits, refill=refill)
    if no_credits:
        kwargs.update(credits=None, refill=None)
    changed = hive.set_owner_limits(
        name,
        rate_changes=changes or None,
        actor=runtime.actor,
        **kwargs,  # type: ignore[arg-type]
    )
    _show(changed, as_json, "Owner limits set")


@owner.command("show")
@click.argument("name", metavar="OWNER")
@json_option
@pass_runtime
def show(runtime: Runtime, name: str, as_json: bool) -> None:
    """Show OWNER's limits."""
    _show(runtime.hive().get_owner_limits(name), as_json, "Owner")
