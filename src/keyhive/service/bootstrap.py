"""The first admin: what ``keyhive init`` issues on a new database."""

from __future__ import annotations

from keyhive.core.model import Issued
from keyhive.core.scopes import ADMIN_SCOPE, VERIFY_SCOPE
from keyhive.service.admins import ADMIN_CLIENT_NAME, ADMIN_OWNER
from keyhive.service.secrets import SecretLifecycle


class Bootstrap(SecretLifecycle):
    """Creating keyhive's own admin client and secret."""

    def bootstrap_admin(self, *, name: str = ADMIN_CLIENT_NAME) -> Issued | None:
        """Create the first admin client and secret (scopes keyhive:admin and keyhive:verify).

        Returns the issued token (to be shown once) or None if an admin client exists.
        """
        if self.store.list_clients(owner=ADMIN_OWNER, limit=1):
            return None
        client = self.create_client(name, owner=ADMIN_OWNER, actor="keyhive init")
        return self.issue_secret(
            client.client_id,
            scopes=[ADMIN_SCOPE, VERIFY_SCOPE],
            name="first admin secret",
            actor="keyhive init",
        )
