"""``keyhive client ...``: create, list, show, disable and enable clients."""

from __future__ import annotations

from typing import Any

import click

from keyhive.core.model import Client

from . import output
from ._app import Runtime, json_option, pass_runtime
from ._params import JSON_OBJECT


@click.group("client")
def client() -> None:
    """Manage clients: the consumers of your API, each with a public client_id."""


def _show_changed(client: Client, as_json: bool, verb: str) -> None:
    if as_json:
        output.emit_json(client.to_dict())
    else:
        output.message(f"Client {client.client_id} {verb}.")


@client.command("create")
@click.option("--name", required=True, help="A name people recognise, e.g. the partner's name.")
@click.option("--owner", help="Your own id for who owns the client (a user or team id).")
@click.option(
    "--metadata", callback=JSON_OBJECT, metavar="JSON", help="A JSON object stored with the client."
)
@json_option
@pass_runtime
def create(
    runtime: Runtime,
    name: str,
    owner: str | None,
    metadata: dict[str, Any] | None,
    as_json: bool,
) -> None:
    """Create a client with a random, unguessable client_id."""
    created = runtime.hive().create_client(
        name, owner=owner, metadata=metadata, actor=runtime.actor
    )
    if as_json:
        output.emit_json(created.to_dict())
    else:
        output.record("Client created", output.client_fields(created))


@client.command("list")
@click.option("--owner", help="Only clients with this owner.")
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=100, show_default=True, help="Page size."
)
@click.option("--after", metavar="CLIENT_ID", help="Start after this client_id (next page).")
@json_option
@pass_runtime
def list_(
    runtime: Runtime, owner: str | None, limit: int, after: str | None, as_json: bool
) -> None:
    """List clients in client_id order, a page at a time."""
    clients = runtime.hive().list_clients(owner=owner, limit=limit, after=after)
    if as_json:
        output.emit_json([c.to_dict() for c in clients])
        return
    output.table(
        None,
        ("client_id", "name", "owner", "enabled", "created"),
        (
            [
                c.client_id,
                c.name,
                c.owner or "-",
                "yes" if c.enabled else "no",
                output.when(c.created_at),
            ]
            for c in clients
        ),
    )
    if len(clients) == limit:
        output.message(f"More may follow: --after {clients[-1].client_id}", stderr=True)


@client.command("show")
@click.argument("client_id")
@json_option
@pass_runtime
def show(runtime: Runtime, client_id: str, as_json: bool) -> None:
    """Show a client and its secrets (never the secrets' values, which are not stored)."""
    hive = runtime.hive()
    found = hive.get_client(client_id)
    secrets = hive.list_secrets(client_id)
    if as_json:
        output.emit_json({**found.to_dict(), "secrets": [s.to_dict() for s in secrets]})
        return
    now = hive.clock.now()
    output.record("Client", output.client_fields(found))
    output.table("Secrets", output.SECRET_COLUMNS, output.secret_rows(secrets, now))


@client.command("disable")
@click.argument("client_id")
@json_option
@pass_runtime
def disable(runtime: Runtime, client_id: str, as_json: bool) -> None:
    """Disable a client: every one of its secrets answers DISABLED until it is enabled."""
    changed = runtime.hive().disable_client(client_id, actor=runtime.actor)
    _show_changed(changed, as_json, "disabled")


@client.command("enable")
@click.argument("client_id")
@json_option
@pass_runtime
def enable(runtime: Runtime, client_id: str, as_json: bool) -> None:
    """Enable a disabled client again."""
    changed = runtime.hive().enable_client(client_id, actor=runtime.actor)
    _show_changed(changed, as_json, "enabled")
