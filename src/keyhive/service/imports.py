"""Importing secrets hashed by the article's own code, so they keep working unchanged."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from keyhive.core import validation as check
from keyhive.core.errors import BadRecord, ClientNotFound, Conflict, IdTaken, InvalidInput
from keyhive.core.hashing import SeedScryptHasher
from keyhive.core.model import Client, Secret, SeedImport, StoredSecret
from keyhive.core.scopes import normalize_scopes
from keyhive.core.tokens import new_secret_id
from keyhive.service._base import ATTEMPTS
from keyhive.service.secrets import SecretLifecycle

_SEED = SeedScryptHasher()


class SeedImports(SecretLifecycle):
    """``keyhive import --format seed`` and its library calls."""

    def import_secret(
        self,
        client_id: str,
        stored: str,
        *,
        scopes: Iterable[str] = (),
        name: str | None = None,
        actor: str | None = None,
    ) -> Secret:
        """Keep a secret hashed by the article's code (``<hex>.<salt>``) working.

        It is presented as client_id + secret (HTTP Basic or ``verify_pair``); after its
        first successful verification it gets a digest and is re-hashed with the current
        hasher. The client must exist; :meth:`import_secrets` imports many and creates
        clients.
        """
        record = SeedImport(client_id, stored, name, tuple(scopes) if scopes else ())
        try:
            [secret] = self.import_secrets([record], create_clients=False, actor=actor)
        except BadRecord as exc:
            raise InvalidInput(exc.reason, field="stored") from None
        return secret

    def import_secrets(
        self,
        records: Sequence[SeedImport],
        *,
        create_clients: bool = True,
        actor: str | None = None,
    ) -> list[Secret]:
        """Import article-format secrets all or nothing: one transaction for the batch.

        Every record is checked before anything is written (a bad one raises BadRecord
        naming it); missing clients are created when ``create_clients``, else
        ClientNotFound. Returns the secrets in the order of ``records``.
        """
        checked = [_checked(index, record) for index, record in enumerate(records)]
        now = self.clock.now()
        for _ in range(ATTEMPTS):
            wanted = dict.fromkeys(r.client_id for r in checked)
            missing = [cid for cid in wanted if self.store.get_client(cid) is None]
            if missing and not create_clients:
                raise ClientNotFound(missing[0])
            names = {r.client_id: r.name or r.client_id for r in reversed(checked)}
            clients = [Client(cid, names[cid], None, {}, True, now) for cid in missing]
            secrets = [
                Secret(
                    secret_id=new_secret_id(),
                    client_id=r.client_id,
                    name=r.name,
                    scopes=r.scopes,
                    prefix=None,
                    created_at=now,
                )
                for r in checked
            ]
            try:
                with self.store.transaction() as tx:
                    for client in clients:
                        tx.insert_client(client)
                        self._audit(tx, self._event(actor, "client.create", client, None, client))
                    for secret, record in zip(secrets, checked, strict=True):
                        tx.insert_secret(StoredSecret(secret, record.stored))
                        self._audit(tx, self._event(actor, "secret.import", secret, None, secret))
            except IdTaken:
                continue  # an id taken meanwhile (or a client created): try again afresh
            for client_id in wanted:
                self._changed("client", client_id)  # nodes that knew it knew fewer secrets
            return secrets
        raise Conflict("could not import: ids kept colliding")  # pragma: no cover


def _checked(index: int, record: SeedImport) -> SeedImport:
    """The record with its fields validated and normalised; BadRecord if it is not."""
    try:
        if not isinstance(record, SeedImport):
            raise InvalidInput("expected a SeedImport")
        if not isinstance(record.stored, str) or not _SEED.identifies(record.stored):
            raise InvalidInput("stored must be the article's <128 hex>.<16 hex salt> string")
        return SeedImport(
            client_id=check.identifier(record.client_id, "client_id"),
            stored=record.stored,
            name=check.text(record.name, "name", optional=True),
            scopes=normalize_scopes(record.scopes),
        )
    except InvalidInput as exc:
        raise BadRecord(index, str(exc)) from None
