"""``keyhive verify``: check a credential the way the API would; exit 0 only when valid."""

from __future__ import annotations

import sys

import click

from keyhive.core.model import Verification
from keyhive.core.quotas import MAX_COST

from . import output
from ._app import Runtime, json_option, pass_runtime
from ._params import scope_option


def _read_stdin(what: str) -> str:
    """One line from stdin, so a secret stays out of shell history and ``ps``."""
    text = sys.stdin.readline().strip()
    if not text:
        raise click.UsageError(f"expected the {what} on stdin, got nothing")
    return text


@click.command("verify")
@click.argument("token", required=False)
@click.option("--client-id", help="Verify a client_id + secret pair instead of a token.")
@click.option("--secret", help="The secret of the pair; '-' reads it from stdin.")
@scope_option("A scope the request needs (repeatable); all must be granted.")
@click.option("--ip", help="The caller's address, checked against the secret's allowlist.")
@click.option(
    "--cost",
    type=click.IntRange(0, MAX_COST),
    default=1,
    show_default=True,
    help="What this verification spends from the secret's and its owner's limits.",
)
@json_option
@pass_runtime
def verify(
    runtime: Runtime,
    token: str | None,
    client_id: str | None,
    secret: str | None,
    scopes: tuple[str, ...],
    ip: str | None,
    cost: int,
    as_json: bool,
) -> None:
    """Verify TOKEN (or '-' to read it from stdin), or --client-id with --secret.

    Prints the code (VALID, NOT_FOUND, EXPIRED, REVOKED, DISABLED, INSUFFICIENT_SCOPE...)
    and exits 0 when valid, 1 when not.
    """
    if token is not None and (client_id is not None or secret is not None):
        raise click.UsageError("give a TOKEN or --client-id with --secret, not both")
    hive = runtime.hive()
    result: Verification
    if token is not None:
        presented = _read_stdin("token") if token == "-" else token
        result = hive.verify(presented, scopes, ip=ip, cost=cost)
    elif client_id is not None and secret is not None:
        presented = _read_stdin("secret") if secret == "-" else secret
        result = hive.verify_pair(client_id, presented, scopes, ip=ip, cost=cost)
    else:
        raise click.UsageError("give a TOKEN ('-' for stdin), or --client-id with --secret")
    if as_json:
        output.emit_json(result.to_dict())
    elif result.secret_id is None:
        output.message(result.code.value)
    elif result.limited_by is not None:
        by = result.limited_by
        output.message(f"{result.code.value}: refused by the {by.holder}'s limit {by.name}")
    else:
        output.message(
            f"{result.code.value}: client {result.client_id}, secret {result.secret_id}, "
            f"scopes {' '.join(result.scopes) or '-'}"
        )
    if not result.valid:
        raise click.exceptions.Exit(1)
