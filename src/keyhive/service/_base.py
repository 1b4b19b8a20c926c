"""What every part of the KeyHive facade shares: the parts it runs on, audit events, and
telling caches about committed changes.

The facade is split by concept (clients, secrets, imports, verification, audit,
bootstrap), one mixin per module over this base; :class:`keyhive.service.hive.KeyHive`
puts them together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

from keyhive.core import validation as check
from keyhive.core.clock import Clock
from keyhive.core.digests import Digester
from keyhive.core.hashing import Hashing
from keyhive.core.model import AuditEvent, Client, Owner, Role, Secret
from keyhive.core.serverkeys import ServerKeys
from keyhive.core.settings import Settings
from keyhive.counters.factory import Parts
from keyhive.counters.protocols import CredentialCache, Invalidator, SignalSink, UsageSink
from keyhive.service import outbox
from keyhive.service.pipeline import Pipeline
from keyhive.storage import Store, Transaction

log = logging.getLogger("keyhive.service")

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
    _signals: SignalSink
    _cache: CredentialCache | None
    _invalidator: Invalidator | None

    def _event(
        self,
        actor: str | None,
        action: str,
        target: Client | Secret | Owner | Role,
        before: Client | Secret | Owner | Role | None,
        after: Client | Secret | Owner | Role | None,
    ) -> AuditEvent:
        """The audit event of one change (its before and after, never a secret)."""
        if isinstance(target, Client):
            kind, ident = "client", target.client_id
        elif isinstance(target, Owner):
            kind, ident = "owner", target.owner
        elif isinstance(target, Role):
            kind, ident = "role", target.name
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

    def _audit(self, tx: Transaction, *events: AuditEvent, also: Sequence[str] = ()) -> None:
        """Append the audit events of a change and, in the same transaction, the webhook
        events they cause (``also``: types beyond each action's own, e.g. ``secret.leaked``).

        The outbox rows go first: an appender holding the audit chain's lock then waits
        for no other row (the rule in storage/audit_chain_sql.py).
        """
        outbox.enqueue(tx, [made for event in events for made in outbox.events_of(event, also)])
        for event in events:
            tx.append_audit(event)

    _change_hooks: list[Callable[[str, str], None]]
    _close_hooks: list[Callable[[], None]]

    # -- hooks: services built over the facade (the OAuth server) follow its changes --------
    def on_change(self, listener: Callable[[str, str], None]) -> Callable[[], None]:
        """Call ``listener(target_type, target_id)`` after each change this hive commits or
        hears of from other processes. Returns a function that unsubscribes."""
        listeners = self._change_hooks
        listeners.append(listener)
        return lambda: listeners.remove(listener) if listener in listeners else None

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` first thing in ``close``: services over this hive stop with it."""
        self._close_hooks.append(callback)

    def _run_change_hooks(self, target_type: str, target_id: str) -> None:
        for listener in list(self._change_hooks):
            try:
                listener(target_type, target_id)
            except Exception as exc:  # a listener's bug must not undo a committed change
                log.warning("change hook failed: %s", type(exc).__name__)

    def _run_close_hooks(self) -> None:
        hooks, self._close_hooks = self._close_hooks, []
        for hook in hooks:
            try:
                hook()
            except Exception as exc:  # one failing service must not keep the store open
                log.warning("close hook failed: %s", type(exc).__name__)

    def announce(self, target_type: str, target_id: str) -> None:
        """After a committed change: forget it here at once, tell the other nodes (Redis,
        when configured; the change's audit event reaches them anyway) and the listeners."""
        self._changed(target_type, target_id)

    def _changed(self, target_type: str, target_id: str) -> None:
        """After a committed change: forget it here at once and tell the other nodes."""
        cache = self._cache
        if cache is not None:
            if target_type == "client":
                cache.evict_client(target_id)
            elif target_type == "owner":
                cache.evict_owner(target_id)
            elif target_type == "role":
                cache.clear()  # any secret may hold it; role changes are rare
            elif target_type == "legacy":
                cache.forget_legacy(target_id)
            else:
                cache.evict_secret(target_id)
        if self._invalidator is not None:
            self._invalidator.publish(target_type, target_id)
        self._run_change_hooks(target_type, target_id)

    def _digest_of(self, token: str) -> str | None:
        """The stored digest for a new token, when digests are stored at all."""
        if not self._parts.store_digests:
            return None
        return self._digester.stored(self._digester(token))
