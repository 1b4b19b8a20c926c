"""Clients: create, read, change, disable and enable, each change atomic and audited."""

from __future__ import annotations

import dataclasses
from typing import Any

from keyhive.core import validation as check
from keyhive.core.errors import ClientNotFound, Conflict, IdTaken, InvalidInput
from keyhive.core.model import Client
from keyhive.core.tokens import KeyFormat, generate_key
from keyhive.service._base import ATTEMPTS, UNSET, HiveBase
from keyhive.service.admins import guard_admins


class ClientLifecycle(HiveBase):
    """The client half of the admin API."""

    def create_client(
        self,
        name: str,
        *,
        owner: str | None = None,
        metadata: dict[str, Any] | None = None,
        client_id: str | None = None,
        key_size: int = 32,
        key_format: KeyFormat | str = "base64",
        actor: str | None = None,
    ) -> Client:
        """Create a client with a random, unique client_id (or the given one, for imports)."""
        client = Client(
            client_id="",
            name=check.required_text(name, "name"),
            owner=check.text(owner, "owner", optional=True),
            metadata=check.metadata(metadata),
            enabled=True,
            created_at=self.clock.now(),
        )
        given = check.identifier(client_id, "client_id") if client_id is not None else None
        for _ in range(1 if given else ATTEMPTS):
            client = dataclasses.replace(
                client, client_id=given or generate_key(key_size, key_format)
            )
            try:
                with self.store.transaction() as tx:
                    tx.insert_client(client)
                    self._audit(tx, self._event(actor, "client.create", client, None, client))
            except IdTaken:
                if given:
                    raise Conflict(f"client_id already exists: {given}") from None
                continue
            return client
        raise Conflict("could not find a free client_id")  # pragma: no cover - 2**-256 odds

    def get_client(self, client_id: str) -> Client:
        client = self.store.get_client(check.identifier(client_id, "client_id"))
        if client is None:
            raise ClientNotFound(client_id)
        return client

    def list_clients(
        self, *, owner: str | None = None, limit: int = 100, after: str | None = None
    ) -> list[Client]:
        if type(limit) is not int or not 1 <= limit <= 1000:
            raise InvalidInput("limit must be from 1 to 1000", field="limit")
        return self.store.list_clients(
            owner=check.text(owner, "owner", optional=True),
            limit=limit,
            after=check.identifier(after, "after") if after is not None else None,
        )

    def update_client(
        self,
        client_id: str,
        *,
        name: str = UNSET,
        owner: str | None = UNSET,
        metadata: dict[str, Any] = UNSET,
        actor: str | None = None,
    ) -> Client:
        """Change a client's name, owner or metadata (and nothing else: not its state)."""
        changes: dict[str, Any] = {}
        if name is not UNSET:
            changes["name"] = check.required_text(name, "name")
        if owner is not UNSET:
            changes["owner"] = check.text(owner, "owner", optional=True)
        if metadata is not UNSET:
            changes["metadata"] = check.metadata(metadata)
        return self._change_client(client_id, "client.update", changes, actor)

    def disable_client(
        self, client_id: str, *, actor: str | None = None, keep_admin: bool = False
    ) -> Client:
        """Every secret of a disabled client answers DISABLED (once the secret matched).

        It holds until :meth:`enable_client`. ``keep_admin`` refuses (LastAdmin) to disable
        the client of the last active admin secret; the HTTP API sets it.
        """
        return self._change_client(
            client_id, "client.disable", {"enabled": False}, actor, keep_admin=keep_admin
        )

    def enable_client(self, client_id: str, *, actor: str | None = None) -> Client:
        return self._change_client(client_id, "client.enable", {"enabled": True}, actor)

    def _change_client(
        self,
        client_id: str,
        action: str,
        changes: dict[str, Any],
        actor: str | None,
        *,
        keep_admin: bool = False,
    ) -> Client:
        """Read, change and write one client in one transaction; only ``changes`` are written."""
        check.identifier(client_id, "client_id")
        with self.store.transaction() as tx:
            before = tx.lock_client(client_id)
            if before is None:
                raise ClientNotFound(client_id)
            if keep_admin and changes.get("enabled") is False:
                guard_admins(tx, self.clock.now(), client_id=client_id)
            after = dataclasses.replace(before, **changes)
            if changes:
                tx.patch_client(client_id, changes)
            self._audit(tx, self._event(actor, action, after, before, after))
        self._changed("client", client_id)
        return after
