"""``keyhive role ...``: named sets of scopes that secrets hold beside their own."""

from __future__ import annotations

import click

from keyhive.core.model import Role

from . import output
from ._app import Runtime, json_option, pass_runtime
from ._params import ROLE, scope_option


@click.group("role")
def role() -> None:
    """Roles: change a role's scopes and every secret holding it follows within a second."""


def _show(found: Role, as_json: bool, title: str) -> None:
    if as_json:
        output.emit_json(found.to_dict())
        return
    output.record(
        title,
        {
            "name": found.name,
            "scopes": " ".join(found.scopes) or "-",
            "description": found.description or "-",
            "updated_at": output.when(found.updated_at),
        },
    )


@role.command("create")
@click.argument("name", callback=ROLE)
@scope_option("A scope the role grants (repeatable); not keyhive's own scopes.")
@click.option("--description", help="What the role is for.")
@json_option
@pass_runtime
def create(
    runtime: Runtime,
    name: str,
    scopes: tuple[str, ...],
    description: str | None,
    as_json: bool,
) -> None:
    """Create role NAME with its scopes (give secrets it with `secret issue --role`)."""
    made = runtime.hive().create_role(
        name, scopes=scopes, description=description, actor=runtime.actor
    )
    _show(made, as_json, "Role created")


@role.command("list")
@json_option
@pass_runtime
def list_(runtime: Runtime, as_json: bool) -> None:
    """List the roles and their scopes."""
    roles = runtime.hive().list_roles()
    if as_json:
        output.emit_json([r.to_dict() for r in roles])
        return
    rows = [[r.name, " ".join(r.scopes) or "-", r.description or "-"] for r in roles]
    output.table(None, ("name", "scopes", "description"), rows)


@role.command("update")
@click.argument("name", callback=ROLE)
@scope_option("Replace the role's scopes with these (repeatable).")
@click.option("--no-scopes", is_flag=True, help="Take every scope from the role.")
@click.option("--description", help="A new description.")
@json_option
@pass_runtime
def update(
    runtime: Runtime,
    name: str,
    scopes: tuple[str, ...],
    no_scopes: bool,
    description: str | None,
    as_json: bool,
) -> None:
    """Change role NAME; every secret holding it follows within a second, on every node."""
    if scopes and no_scopes:
        raise click.UsageError("give --scope or --no-scopes, not both")
    changes: dict[str, object] = {}
    if scopes or no_scopes:
        changes["scopes"] = scopes
    if description is not None:
        changes["description"] = description
    if not changes:
        raise click.UsageError("nothing to change: give --scope, --no-scopes or --description")
    changed = runtime.hive().update_role(name, actor=runtime.actor, **changes)  # type: ignore[arg-type]
    _show(changed, as_json, "Role updated")


@role.command("delete")
@click.argument("name", callback=ROLE)
@json_option
@pass_runtime
def delete(runtime: Runtime, name: str, as_json: bool) -> None:
    """Delete role NAME; refused while a secret that is not revoked holds it."""
    gone = runtime.hive().delete_role(name, actor=runtime.actor)
    if as_json:
        output.emit_json(gone.to_dict())
    else:
        output.message(f"Role {gone.name} deleted.")
