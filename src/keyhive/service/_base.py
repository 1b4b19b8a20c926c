"""What every part of the KeyHive facade shares: the parts it runs on, audit events, and
telling caches about committed changes.

The facade is split by concept (clients, secrets, imports, verification, audit,
bootstrap), one mixin per module over this base; :class:`keyhive.service.hive.KeyHive`
puts them together.
"""

from __future__ import annotations

from typing import Any, Final

from keyhive.core import validation as check
from keyhive.core.clock import Clock
from keyhive.core.digests import Digester
from keyhive.core.hashing import Hashing
from keyhive.core.model import AuditEvent, Client, Secret
from keyhive.core.serverkeys import ServerKeys
from keyhive.core.settings import Settings
from keyhive.counters.factory import Parts
from keyhive.counters.protocols import CredentialCache, Invalidator, UsageSink
from keyhive.service.pipeline import Pipeline
from keyhive.storage import Store

#: How many fresh random ids an insert tries before giving up (collisions are 2**-90 odds).
ATTEMPTS: Final = 8
#: Marks a keyword argument that was not given (None is a value: "remove").
UNSET: Any = object()


class HiveBase:
    """The state shared by the facade's parts (set once, by KeyHive's constructor)."""

    settings: Settings
    store: Store
    hashing: Hashing
    clock: Clock
    prefix: str
    #: Keys outside the database (digests, session signing, signing-key encryption).
    server_keys: ServerKeys
    pipeline: Pipeline
    _parts: Parts
    _digester: Digester
    _usage: UsageSink
    _cache: CredentialCache | None
    _invalidator: Invalidator | None

    def _event(
        self,
        actor: str | None,
        action: str,
        target: Client | Secret,
        before: Client | Secret | None,
        after: Client | Secret | None,
    ) -> AuditEvent:
        """The audit event of one change (its before and after, never a secret)."""
        if isinstance(target, Client):
            kind, ident = "client", target.client_id
        else:
            kind, ident = "secret", target.secret_id
        return AuditEvent(
            id=None,
            at=self.clock.now(),
            actor=check.text(actor, "actor", optional=True),
            action=action,
            target_type=kind,
            target_id=ident,
            before=before.to_dict() if before is not None else None,
            after=after.to_dict() if after is not None else None,
        )

    def _changed(self, target_type: str, target_id: str) -> None:
        """After a committed change: forget it here at once and tell the other nodes."""
        cache = self._cache
        if cache is not None:
            if target_type == "client":
                cache.evict_client(target_id)
            else:
                cache.evict_secret(target_id)
        if self._invalidator is not None:
            self._invalidator.publish(target_type, target_id)

    def _digest_of(self, token: str) -> str | None:
        """The stored digest for a new token, when digests are stored at all."""
        if not self._parts.store_digests:
            return None
        return self._digester.stored(self._digester(token))
