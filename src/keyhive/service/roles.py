"""Roles: named sets of scopes that secrets hold beside their own.

A secret's scopes in force are its own plus those of its roles, read with the secret on
every cache miss. A role change is audited (``role.create``, ``role.update``,
``role.delete``) and so reaches every node within a second, like a revoke; each node then
forgets every answer it cached (role changes are rare, and any secret may hold the role).

Deleting a role that a secret which is not revoked holds is refused (Conflict): take the
role from those secrets first. Roles never hold keyhive's own scopes
(:mod:`keyhive.core.roles`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from keyhive.core import validation as check
from keyhive.core.errors import Conflict, IdTaken, NotFound
from keyhive.core.model import Role, Secret
from keyhive.core.roles import role_scopes, validate_role_name
from keyhive.service._base import UNSET, HiveBase


class Roles(HiveBase):
    """``create_role``, ``get_role``, ``list_roles``, ``update_role`` and ``delete_role``."""

    def create_role(
        self,
        name: str,
        *,
        scopes: Iterable[str],
        description: str | None = None,
        actor: str | None = None,
    ) -> Role:
        """A new role; Conflict if the name is taken."""
        now = self.clock.now()
        role = Role(
            name=validate_role_name(name),
            scopes=role_scopes(scopes),
            description=check.text(description, "description", limit=500, optional=True),
            created_at=now,
            updated_at=now,
        )
        try:
            with self.store.transaction() as tx:
                tx.insert_role(role)
                self._audit(tx, self._event(actor, "role.create", role, None, role))
        except IdTaken:
            raise Conflict(f"role {role.name} exists already") from None
        self._changed("role", role.name)
        return role

    def get_role(self, name: str) -> Role:
        role = self.store.get_roles([validate_role_name(name)]).get(name)
        if role is None:
            raise NotFound("role", name)
        return role

    def list_roles(self) -> list[Role]:
        return self.store.list_roles()

    def scopes_in_force(self, secret: Secret) -> tuple[str, ...]:
        """A secret's own scopes and those of its roles, as verification grants them."""
        if not secret.roles:
            return secret.scopes
        roles = self.store.get_roles(list(secret.roles))
        extra = [scope for role in roles.values() for scope in role.scopes]
        return tuple(sorted({*secret.scopes, *extra}))

    def update_role(
        self,
        name: str,
        *,
        scopes: Iterable[str] = UNSET,
        description: str | None = UNSET,
        actor: str | None = None,
    ) -> Role:
        """Replace a role's scopes and/or description; every secret holding it follows."""
        validate_role_name(name)
        wanted: dict[str, Any] = {}
        if scopes is not UNSET:
            wanted["scopes"] = role_scopes(scopes)
        if description is not UNSET:
            wanted["description"] = check.text(description, "description", limit=500, optional=True)
        with self.store.transaction() as tx:
            before = tx.lock_role(name)
            if before is None:
                raise NotFound("role", name)
            now = self.clock.now()
            after = dataclasses.replace(before, **wanted, updated_at=now)
            if wanted:
                tx.patch_role(name, wanted, now)
            self._audit(tx, self._event(actor, "role.update", after, before, after))
        self._changed("role", name)
        return after

    def delete_role(self, name: str, *, actor: str | None = None) -> Role:
        """Remove a role; Conflict while a secret that is not revoked holds it."""
        validate_role_name(name)
        with self.store.transaction() as tx:
            before = tx.lock_role(name)
            if before is None:
                raise NotFound("role", name)
            tx.delete_role(name, self.clock.now())
            self._audit(tx, self._event(actor, "role.delete", before, before, None))
        self._changed("role", name)
        return before
