"""keyhive's own admins: who counts as one, and the rule that the HTTP API cannot remove
the last one.

An admin secret holds ``keyhive:admin`` (or ``keyhive:*``) on an enabled client and is
neither revoked nor expired. Revoking the last one, or disabling its client, over HTTP
would lock every operator out; only local access to the database (``keyhive admin
recover``, like ``keyhive init``) can issue a new one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from keyhive.core.errors import LastAdmin
from keyhive.core.model import Client, Secret
from keyhive.core.scopes import ADMIN_GRANTS
from keyhive.storage import Transaction

ADMIN_OWNER: Final = "keyhive"
ADMIN_CLIENT_NAME: Final = "keyhive admin"


def is_admin(secret: Secret, client: Client, now: datetime) -> bool:
    """Whether this secret, on this client, can act as a keyhive admin right now."""
    return (
        client.enabled
        and not secret.is_revoked(now)
        and not secret.is_expired(now)
        and bool(ADMIN_GRANTS.intersection(secret.scopes))
    )


def guard_admins(
    tx: Transaction,
    now: datetime,
    *,
    secret_id: str | None = None,
    client_id: str | None = None,
) -> None:
    """Raise LastAdmin if removing this secret (or disabling this client) leaves no admin.

    Runs inside the change's transaction, after ``lock_admins``: two changes that each
    remove a different admin cannot both pass.
    """
    admins = [
        (secret, client) for secret, client in tx.lock_admins() if is_admin(secret, client, now)
    ]

    def removed(secret: Secret, client: Client) -> bool:
        return secret.secret_id == secret_id or client.client_id == client_id

    if any(removed(*pair) for pair in admins) and all(removed(*pair) for pair in admins):
        raise LastAdmin(
            "this is the last active admin secret: issue another secret with keyhive:admin "
            "first (or, with local access to the database, run `keyhive admin recover`)"
        )
