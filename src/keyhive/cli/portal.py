"""``keyhive portal link``: a one-time link to the self-service portal for one owner.

The link is a secret until it is used (it opens the owner's keys), so in human mode it
is the only thing on stdout (``URL=$(keyhive portal link ...)``); the details go to
stderr. Sessions made here are not tied to an admin secret: they end at their expiry.
"""

from __future__ import annotations

from datetime import timedelta

import click

from . import output
from ._app import Runtime, json_option, pass_runtime
from ._params import DURATION, scope_option


@click.group("portal")
def portal() -> None:
    """The self-service portal where an API's customers manage their own keys."""


@portal.command("link")
@click.argument("owner")
@scope_option("A scope the customer may give their keys (repeatable; never keyhive:*).")
@click.option(
    "--ttl",
    default="15m",
    show_default=True,
    callback=DURATION,
    metavar="DURATION",
    help="How long the link and its session last (1m to 24h).",
)
@click.option(
    "--max-secrets",
    type=click.IntRange(0, 10_000),
    metavar="N",
    help="Most active keys the owner may hold [default: no limit].",
)
@click.option("--return-url", metavar="URL", help="Where the portal links back to (http/https).")
@click.option(
    "--client-name", metavar="NAME", help="Name of the client made if the owner has none."
)
@click.option(
    "--base-url",
    envvar="KEYHIVE_PUBLIC_URL",
    show_envvar=True,
    metavar="URL",
    help="Where browsers reach this keyhive, e.g. https://keys.example.com (required).",
)
@json_option
@pass_runtime
def link(
    runtime: Runtime,
    owner: str,
    scopes: tuple[str, ...],
    ttl: timedelta,
    max_secrets: int | None,
    return_url: str | None,
    client_name: str | None,
    base_url: str | None,
    as_json: bool,
) -> None:
    """Print a link that opens OWNER's keys once, until --ttl has passed.

    The customer may create keys with the --scope values only, rotate and revoke their
    own keys, and nothing else; every change is audited as portal:OWNER.
    """
    if not scopes:
        raise click.UsageError("give at least one --scope the customer may grant")
    if base_url is None:
        raise click.UsageError(
            "the link needs the address browsers reach keyhive at: "
            "pass --base-url or set KEYHIVE_PUBLIC_URL"
        )
    made = runtime.hive().create_portal_session(
        owner,
        allowed_scopes=scopes,
        max_secrets=max_secrets,
        return_url=return_url,
        ttl=ttl,
        client_name=client_name,
        base_url=base_url,
        actor=runtime.actor,
    )
    session = made.session
    if as_json:
        output.emit_json(
            {
                "url": made.url,
                "expires_at": output.when(made.expires_at),
                "owner": session.owner,
                "allowed_scopes": list(session.allowed_scopes),
                "max_secrets": session.max_secrets,
            }
        )
        return
    fields = {
        "owner": session.owner,
        "allowed_scopes": " ".join(session.allowed_scopes),
        "max_secrets": "no limit" if session.max_secrets is None else str(session.max_secrets),
        "return_url": session.return_url or "-",
        "expires_at": output.when(made.expires_at),
    }
    output.record("Portal link (opens once)", fields, stderr=True)
    click.echo(made.url)
    output.message("Send it to the customer now: it works once, until it expires.", stderr=True)
