"""Getting an admin back: ``keyhive admin recover`` for operators with the database at hand.

The HTTP API refuses to remove the last admin secret, but secrets also expire, and the
CLI or the library can revoke or disable anything. Whoever can open the database (the
same access ``keyhive init`` needs) may then issue a fresh admin secret: on the admin
client (``owner`` ``keyhive``), enabled again if it was disabled, or on a new one if there
is none. It is one transaction, audited as ``admin.recover`` besides the usual events.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from keyhive.core.model import Client, Issued, Secret, StoredSecret
from keyhive.core.scopes import ADMIN_SCOPE, VERIFY_SCOPE
from keyhive.core.tokens import generate_key
from keyhive.service.admins import ADMIN_CLIENT_NAME, ADMIN_OWNER
from keyhive.service.secrets import SecretLifecycle
from keyhive.storage import Transaction

RECOVER_ACTION: Final = "admin.recover"
RECOVERED_NAME: Final = "recovered admin secret"


class Recovery(SecretLifecycle):
    """Issuing a fresh admin secret with only local access to the database."""

    def recover_admin(self, *, actor: str | None = None) -> Issued:
        """A new secret with keyhive:admin and keyhive:verify on the admin client.

        The admin client is enabled if it was disabled and created if there is none.
        Returns the token, to be shown once; other admin secrets are left as they are.
        """
        now = self.clock.now()
        found = self.store.list_clients(owner=ADMIN_OWNER, limit=1)
        client_id = found[0].client_id if found else generate_key()
        template = Secret(
            secret_id="",
            client_id=client_id,
            name=RECOVERED_NAME,
            scopes=(ADMIN_SCOPE, VERIFY_SCOPE),
            prefix=self.prefix,
            created_at=now,
        )
        enabled: list[bool] = []

        def write(tx: Transaction, secret: Secret, stored: StoredSecret) -> None:
            client = tx.lock_client(client_id)
            if client is None:
                client = Client(client_id, ADMIN_CLIENT_NAME, ADMIN_OWNER, {}, True, now)
                tx.insert_client(client)
                self._audit(tx, self._event(actor, "client.create", client, None, client))
            elif not client.enabled:
                after = dataclasses.replace(client, enabled=True)
                tx.patch_client(client_id, {"enabled": True})
                self._audit(tx, self._event(actor, "client.enable", after, client, after))
                enabled.append(True)
            tx.insert_secret(stored)
            self._audit(tx, self._event(actor, "secret.issue", secret, None, secret))
            self._audit(tx, self._event(actor, RECOVER_ACTION, secret, None, secret))

        issued = self._insert_new(template, write)
        if enabled:
            self._changed("client", client_id)
        return issued
