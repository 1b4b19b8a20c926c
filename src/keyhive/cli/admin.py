"""``keyhive admin recover``: a fresh admin secret for whoever can open the database.

For when no admin secret is left (expired, revoked or disabled from the CLI, or lost):
``keyhive init`` then prints nothing, because an admin client exists. Like ``init``, it
needs only local access to the database; the secret is printed once and audited as
``admin.recover`` with the OS user as the actor.
"""

from __future__ import annotations

import click

from . import output
from ._app import Runtime, json_option, pass_runtime


@click.group("admin")
def admin() -> None:
    """keyhive's own admin access."""


@admin.command("recover")
@json_option
@pass_runtime
def recover(runtime: Runtime, as_json: bool) -> None:
    """Issue a fresh admin secret (keyhive:admin, keyhive:verify) and print it once.

    It goes on the admin client, which is enabled again if it was disabled (or created
    if there is none). Existing admin secrets keep working; revoke the lost ones with
    `keyhive secret revoke`.
    """
    hive = runtime.hive()
    issued = hive.recover_admin(actor=runtime.actor)
    if as_json:
        output.emit_json(
            {
                "admin_token": issued.token,
                "client_id": issued.client_id,
                "secret_id": issued.secret_id,
            }
        )
        return
    fields = output.secret_fields(issued.secret, hive.clock.now())
    output.one_time_token(issued.token, "Admin access recovered; new admin secret issued", fields)
