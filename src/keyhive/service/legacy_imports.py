"""Moving in from djangorestframework-api-key and fastapi-keygate without new keys.

Their exported rows become keyhive secrets that keep the library's hash string and are
looked up by the public prefix the key carries (``legacy_id``). A key keeps verifying as
it was presented before (``Authorization: Api-Key``, ``X-API-Key`` or Bearer); after its
first success it gets a verification digest and keyhive's own hash, and the library's
string is gone from the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from keyhive.core import validation as check
from keyhive.core.errors import BadRecord, Conflict, IdTaken, InvalidInput
from keyhive.core.legacy_keys import LegacyKey
from keyhive.core.model import Client, Secret, StoredSecret
from keyhive.core.quotas import parse_limits
from keyhive.core.scopes import normalize_scopes
from keyhive.core.tokens import generate_key, new_secret_id
from keyhive.service._base import ATTEMPTS
from keyhive.service.secrets import SecretLifecycle


class LegacyImports(SecretLifecycle):
    """``keyhive import --format drf-api-key|fastapi-keygate`` and its library call."""

    def import_legacy_keys(
        self,
        keys: Sequence[LegacyKey],
        *,
        client_id: str | None = None,
        owner: str | None = None,
        scopes: Iterable[str] = (),
        roles: Iterable[str] = (),
        actor: str | None = None,
    ) -> list[Secret]:
        """Import another library's keys all or nothing, in one transaction.

        Each key goes under ``client_id`` when given (it must exist); otherwise the
        import makes clients: one per fastapi-keygate ``owner_id`` (named after it, and
        owned by it unless ``owner`` is given) and one per djangorestframework-api-key
        key (named after the key, owned by ``owner``). Every key gets ``scopes`` and
        ``roles`` besides its own scopes. A prefix imported before is a Conflict; a bad
        record raises BadRecord naming it. Returns the secrets in the order of ``keys``.
        """
        given_scopes = normalize_scopes(scopes)
        given_roles = self._existing_roles(roles)
        owner = check.text(owner, "owner", optional=True)
        target = self.get_client(client_id) if client_id is not None else None
        checked = self._checked(keys)
        now = self.clock.now()
        for _ in range(ATTEMPTS):
            clients: dict[str, Client] = {}
            placed: list[str] = []
            for index, key in enumerate(checked):
                if target is not None:
                    placed.append(target.client_id)
                    continue
                group = f"holder:{key.holder}" if key.holder is not None else f"key:{index}"
                if group not in clients:
                    name = key.holder or key.name or key.legacy_id
                    clients[group] = Client(
                        client_id=generate_key(32, "base64"),
                        name=name[:200],
                        owner=owner or key.holder,
                        metadata={"imported_from": key.format},
                        enabled=True,
                        created_at=now,
                    )
                placed.append(clients[group].client_id)
            secrets = [
                Secret(
                    secret_id=new_secret_id(),
                    client_id=cid,
                    name=key.name,
                    scopes=tuple(sorted({*key.scopes, *given_scopes})),
                    prefix=None,
                    created_at=now,
                    expires_at=key.expires_at,
                    revoked_at=key.revoked_at,
                    revoked_reason="revoked before the import" if key.revoked_at else None,
                    rate_limits=parse_limits(list(key.rate)),
                    roles=given_roles,
                    legacy_id=key.legacy_id,
                )
                for key, cid in zip(checked, placed, strict=True)
            ]
            try:
                with self.store.transaction() as tx:
                    for client in clients.values():
                        tx.insert_client(client)
                        self._audit(tx, self._event(actor, "client.create", client, None, client))
                    for secret, key in zip(secrets, checked, strict=True):
                        tx.insert_secret(StoredSecret(secret, key.stored))
                        self._audit(tx, self._event(actor, "secret.import", secret, None, secret))
            except IdTaken:
                continue  # a fresh id collided: try again with new ones
            for secret in secrets:
                # A node that looked this prefix up before the import remembers "nothing".
                assert secret.legacy_id is not None
                self._changed("legacy", secret.legacy_id)
            if target is not None:
                self._changed("client", target.client_id)
            return secrets
        raise Conflict("could not import: ids kept colliding")  # pragma: no cover

    def _checked(self, keys: Sequence[LegacyKey]) -> list[LegacyKey]:
        seen: set[str] = set()
        checked = []
        for index, key in enumerate(keys):
            try:
                if not isinstance(key, LegacyKey):
                    raise InvalidInput("expected a LegacyKey")
                if key.legacy_id in seen:
                    raise InvalidInput(f"prefix {key.legacy_id} appears twice")
                seen.add(key.legacy_id)
                reader = self.hashing.reader(key.stored)
                if reader.name != key.format:
                    raise InvalidInput(f"the hash is not in {key.format}'s format")
                normalize_scopes(key.scopes)
                parse_limits(list(key.rate))
            except InvalidInput as exc:
                raise BadRecord(index, str(exc)) from None
            except Exception:  # UnknownHashFormat: the string says nothing secret
                raise BadRecord(
                    index, f"the hash string is not one {key.format} makes (or needs an extra)"
                ) from None
            checked.append(key)
        return checked
