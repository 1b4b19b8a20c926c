"""An in-memory Store: the reference implementation of the contract, for tests and demos."""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from keyhive.core.audit_chain import SealedEvent, seal
from keyhive.core.errors import ClientNotFound, Conflict, IdTaken, NotFound, SecretNotFound
from keyhive.core.model import AuditEvent, Client, Owner, Role, Secret, StoredSecret
from keyhive.core.portal import PortalSession
from keyhive.core.scopes import ADMIN_GRANTS
from keyhive.core.usage import UsageRow
from keyhive.core.webhooks import Event, Webhook
from keyhive.storage import browse_memory, webhooks_memory
from keyhive.storage._protocol import (
    CLIENT_FIELDS,
    OWNER_FIELDS,
    ROLE_FIELDS,
    SECRET_FIELDS,
    LookupRecord,
    Transaction,
    Usage,
)
from keyhive.storage.oauth_memory import MemoryOAuthStore
from keyhive.storage.portal_memory import PortalRecords
from keyhive.storage.usage_memory import UsageBuckets
from keyhive.storage.webhooks import WebhookRecord
from keyhive.storage.webhooks_memory import MemoryWebhookStore


class _State:
    def __init__(self) -> None:
        self.clients: dict[str, Client] = {}
        self.secrets: dict[str, StoredSecret] = {}
        self.audit: list[AuditEvent] = []
        #: (hash, prev_hash) of each audit event, by position (the tamper-evident chain).
        self.audit_seals: list[tuple[str, str | None]] = []
        self.usage = UsageBuckets()
        # -- webhooks: endpoints, the outbox, deliveries (storage/webhooks_memory.py) --
        self.webhooks: dict[str, WebhookRecord] = {}
        self.webhook_events: dict[str, Event] = {}
        self.webhook_deliveries: dict[int, webhooks_memory.Row] = {}
        self.webhook_keys: set[tuple[str, str | None, str | None]] = set()
        self.webhook_next = 0
        self.owners: dict[str, Owner] = {}
        self.roles: dict[str, Role] = {}
        self.portal = PortalRecords()


class _MemoryTransaction:
    """Runs while the store's lock is held: no other writer can interleave."""

    def __init__(self, state: _State) -> None:
        self._s = state

    def lock_client(self, client_id: str) -> Client | None:
        return self._s.clients.get(client_id)

    def lock_secret(self, secret_id: str) -> StoredSecret | None:
        return self._s.secrets.get(secret_id)

    def lock_secrets(self, secret_ids: Sequence[str]) -> dict[str, StoredSecret]:
        found = (self._s.secrets.get(ident) for ident in secret_ids)
        return {s.secret.secret_id: s for s in found if s is not None}

    def patch_client(self, client_id: str, changes: Mapping[str, Any]) -> None:
        unknown = set(changes) - CLIENT_FIELDS
        if unknown:
            raise ValueError(f"not client fields: {sorted(unknown)}")
        old = self._s.clients.get(client_id)
        if old is None:
            raise ClientNotFound(client_id)
        self._s.clients[client_id] = dataclasses.replace(old, **changes)

    def patch_secret(self, secret_id: str, changes: Mapping[str, Any]) -> None:
        unknown = set(changes) - SECRET_FIELDS
        if unknown:
            raise ValueError(f"not secret fields: {sorted(unknown)}")
        old = self._s.secrets.get(secret_id)
        if old is None:
            raise SecretNotFound(secret_id)
        if "replaced_by" in changes and old.secret.replaced_by is not None:
            raise Conflict("secret was already rotated")
        fields = dict(changes)
        if "scopes" in fields:
            fields["scopes"] = tuple(sorted(fields["scopes"]))
        if "roles" in fields:
            fields["roles"] = self._known_roles(fields["roles"])
        self._s.secrets[secret_id] = dataclasses.replace(
            old, secret=dataclasses.replace(old.secret, **fields)
        )

    def lock_admins(self) -> list[tuple[Secret, Client]]:
        return [
            (stored.secret, self._s.clients[stored.secret.client_id])
            for stored in self._s.secrets.values()
            if ADMIN_GRANTS.intersection(stored.secret.scopes)
        ]

    def insert_client(self, client: Client) -> None:
        if client.client_id in self._s.clients:
            raise IdTaken("client_id exists")
        self._s.clients[client.client_id] = client

    def update_client(self, client: Client) -> None:
        if client.client_id not in self._s.clients:
            raise ClientNotFound(client.client_id)
        self._s.clients[client.client_id] = client

    def insert_secret(self, stored: StoredSecret) -> None:
        if stored.secret.secret_id in self._s.secrets:
            raise IdTaken("secret_id exists")
        if stored.secret.client_id not in self._s.clients:
            raise ClientNotFound(stored.secret.client_id)
        legacy = stored.secret.legacy_id
        if legacy is not None and any(
            s.secret.legacy_id == legacy for s in self._s.secrets.values()
        ):
            raise Conflict(f"a key with this prefix was imported already: {legacy}")
        roles = self._known_roles(stored.secret.roles)
        self._s.secrets[stored.secret.secret_id] = dataclasses.replace(
            stored, secret=dataclasses.replace(stored.secret, roles=roles)
        )

    def _known_roles(self, roles: Sequence[str]) -> tuple[str, ...]:
        for role in roles:
            if role not in self._s.roles:
                raise NotFound("role", role)
        return tuple(sorted(set(roles)))

    def update_secret(self, secret: Secret) -> None:
        old = self._s.secrets.get(secret.secret_id)
        if old is None:
            raise SecretNotFound(secret.secret_id)
        kept = dataclasses.replace(
            secret,
            usage_count=old.secret.usage_count,
            last_used_at=old.secret.last_used_at,
            credits_used=old.secret.credits_used,
            credits_period=old.secret.credits_period,
        )
        self._s.secrets[secret.secret_id] = StoredSecret(kept, old.hash, old.digest)

    def append_audit(self, event: AuditEvent) -> None:
        stored = dataclasses.replace(event, id=len(self._s.audit) + 1)
        prev_hash = self._s.audit_seals[-1][0] if self._s.audit_seals else None
        self._s.audit.append(stored)
        self._s.audit_seals.append((seal(stored, prev_hash), prev_hash))

    # -- leaks (many secrets revoked at once) ------------------------------------------------
    def revoke_secrets(self, secrets: Sequence[Secret]) -> None:
        for secret in secrets:
            old = self._s.secrets.get(secret.secret_id)
            if old is None:
                raise SecretNotFound(secret.secret_id)
            revoked = dataclasses.replace(
                old.secret, revoked_at=secret.revoked_at, revoked_reason=secret.revoked_reason
            )
            self._s.secrets[secret.secret_id] = dataclasses.replace(old, secret=revoked)

    # -- webhooks (the outbox) ---------------------------------------------------------------
    def webhook_subscriptions(self) -> list[Webhook]:
        return webhooks_memory.subscriptions(self._s)

    def enqueue_webhook_event(self, event: Event, webhook_ids: Sequence[str]) -> bool:
        return webhooks_memory.enqueue(self._s, event, webhook_ids)

    # -- plans (owners' limits, roles) -------------------------------------------------------
    def lock_owner(self, owner: str) -> Owner:
        return self._s.owners.setdefault(owner, Owner(owner))

    def save_owner(self, owner: str, changes: Mapping[str, Any], at: datetime) -> None:
        unknown = set(changes) - OWNER_FIELDS
        if unknown:
            raise ValueError(f"not owner fields: {sorted(unknown)}")
        old = self._s.owners.get(owner) or Owner(owner)
        fields = dict(changes)
        if "rate_limits" in fields:
            fields["rate_limits"] = tuple(fields["rate_limits"])
        self._s.owners[owner] = dataclasses.replace(old, **fields, updated_at=at)

    def lock_role(self, name: str) -> Role | None:
        return self._s.roles.get(name)

    def insert_role(self, role: Role) -> None:
        if role.name in self._s.roles:
            raise IdTaken(f"role exists: {role.name}")
        self._s.roles[role.name] = role

    def patch_role(self, name: str, changes: Mapping[str, Any], at: datetime) -> None:
        unknown = set(changes) - ROLE_FIELDS
        if unknown:
            raise ValueError(f"not role fields: {sorted(unknown)}")
        old = self._s.roles.get(name)
        if old is None:
            raise NotFound("role", name)
        fields = dict(changes)
        if "scopes" in fields:
            fields["scopes"] = tuple(fields["scopes"])
        self._s.roles[name] = dataclasses.replace(old, **fields, updated_at=at)

    def delete_role(self, name: str, now: datetime) -> None:
        if name not in self._s.roles:
            raise NotFound("role", name)
        holders = [s for s in self._s.secrets.values() if name in s.secret.roles]
        active = [s for s in holders if not s.secret.is_revoked(now)]
        if active:
            raise Conflict(
                f"role {name} is held by {len(active)} secret(s) that are not revoked; "
                "take it from them first"
            )
        for stored in holders:
            kept = tuple(r for r in stored.secret.roles if r != name)
            self._s.secrets[stored.secret.secret_id] = dataclasses.replace(
                stored, secret=dataclasses.replace(stored.secret, roles=kept)
            )
        del self._s.roles[name]

    # -- portal sessions -------------------------------------------------------------------
    def lock_owner_keys(self, owner: str) -> tuple[list[Client], list[Secret]]:
        clients = sorted(
            (c for c in self._s.clients.values() if c.owner == owner), key=lambda c: c.client_id
        )
        ids = {c.client_id for c in clients}
        secrets = [s.secret for s in self._s.secrets.values() if s.secret.client_id in ids]
        return clients, sorted(secrets, key=lambda s: (s.created_at, s.secret_id))

    def insert_portal_session(self, session: PortalSession, code_digest: str) -> None:
        self._s.portal.insert(session, code_digest)

    def claim_portal_code(self, code_digest: str, now: datetime) -> PortalSession | None:
        return self._s.portal.claim(code_digest, now)

    def delete_portal_sessions(self, *, expired_before: datetime) -> int:
        return self._s.portal.delete_expired(expired_before)


class MemoryStore:
    """Keeps everything in dicts behind one lock; a failed transaction leaves no trace.

    ``ephemeral``: its contents die with the process, like a per-process server key.
    """

    ephemeral = True
    local_reads = True

    def __init__(self) -> None:
        self._state = _State()
        self._lock = threading.RLock()
        self._oauth = MemoryOAuthStore(self)
        self._webhooks = MemoryWebhookStore(self)

    def migrate(self) -> None:
        return None

    def close(self) -> None:
        return None

    def get_client(self, client_id: str) -> Client | None:
        return self._state.clients.get(client_id)

    def list_clients(
        self, *, owner: str | None = None, limit: int = 100, after: str | None = None
    ) -> list[Client]:
        with self._lock:
            rows = sorted(self._state.clients.values(), key=lambda c: c.client_id)
        rows = [c for c in rows if (owner is None or c.owner == owner)]
        rows = [c for c in rows if after is None or c.client_id > after]
        return rows[:limit]

    def get_secret(self, secret_id: str) -> StoredSecret | None:
        return self._state.secrets.get(secret_id)

    def list_secrets(self, client_id: str) -> list[StoredSecret]:
        with self._lock:
            rows = [s for s in self._state.secrets.values() if s.secret.client_id == client_id]
        return sorted(rows, key=lambda s: (s.secret.created_at, s.secret.secret_id))

    def list_audit(
        self, *, after_id: int = 0, limit: int = 100, target_id: str | None = None
    ) -> list[AuditEvent]:
        with self._lock:
            rows = [e for e in self._state.audit if e.id is not None and e.id > after_id]
        if target_id is not None:
            rows = [e for e in rows if e.target_id == target_id]
        return rows[:limit]

    def last_audit_id(self) -> int:
        return len(self._state.audit)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock:
            saved: Any = copy.copy(self._state.__dict__)
            saved = {k: copy.copy(v) for k, v in saved.items()}
            try:
                yield _MemoryTransaction(self._state)
            except BaseException:
                self._state.__dict__.update(saved)
                raise

    def replace_hash(self, secret_id: str, old: str, new: str) -> bool:
        with self._lock:
            stored = self._state.secrets.get(secret_id)
            if stored is None or stored.hash != old:
                return False
            self._state.secrets[secret_id] = dataclasses.replace(stored, hash=new)
            return True

    def set_digest(self, secret_id: str, old: str | None, new: str) -> bool:
        with self._lock:
            stored = self._state.secrets.get(secret_id)
            if stored is None or stored.digest != old:
                return False
            self._state.secrets[secret_id] = dataclasses.replace(stored, digest=new)
            return True

    def record_usage(self, usage: Mapping[str, Usage]) -> None:
        with self._lock:
            self._state.usage.add(usage)
            for secret_id, used in usage.items():
                stored = self._state.secrets.get(secret_id)
                if stored is None or used.last_used_at is None:
                    continue
                last = stored.secret.last_used_at
                newest = used.last_used_at if last is None else max(last, used.last_used_at)
                secret = dataclasses.replace(
                    stored.secret,
                    usage_count=stored.secret.usage_count + used.count,
                    last_used_at=newest,
                )
                if used.credits_period is not None:
                    same = secret.credits_period == used.credits_period
                    secret = dataclasses.replace(
                        secret,
                        credits_period=used.credits_period,
                        credits_used=max(secret.credits_used, used.credits_used)
                        if same
                        else used.credits_used,
                    )
                self._state.secrets[secret_id] = dataclasses.replace(stored, secret=secret)

    def delete_all(self) -> None:
        with self._lock:
            self._state = _State()
            self._oauth.clear()

    # -- leaks (many secrets checked at once) -----------------------------------------------
    def get_secrets(self, secret_ids: Sequence[str]) -> list[StoredSecret]:
        with self._lock:
            found = (self._state.secrets.get(ident) for ident in dict.fromkeys(secret_ids))
            return [stored for stored in found if stored is not None]

    # -- audit chain (tamper-evident audit log) --------------------------------------------
    def audit_chain(self, *, after_id: int = 0, limit: int = 1000) -> list[SealedEvent]:
        with self._lock:
            pairs = list(zip(self._state.audit, self._state.audit_seals, strict=True))
        return [
            SealedEvent(event, digest, prev)
            for event, (digest, prev) in pairs
            if event.id is not None and event.id > after_id
        ][:limit]

    def audit_head(self) -> SealedEvent | None:
        with self._lock:
            if not self._state.audit:
                return None
            digest, prev = self._state.audit_seals[-1]
            return SealedEvent(self._state.audit[-1], digest, prev)

    # -- oauth --
    @property
    def oauth(self) -> MemoryOAuthStore:
        return self._oauth

    # -- usage analytics --
    def usage_rows(
        self,
        *,
        since: datetime,
        secret_id: str | None = None,
        client_id: str | None = None,
        per_secret: bool = False,
    ) -> list[UsageRow]:
        def owner_of(sid: str) -> str | None:
            stored = self._state.secrets.get(sid)
            return stored.secret.client_id if stored is not None else None

        with self._lock:
            return self._state.usage.rows(
                since=since,
                owner_of=owner_of,
                secret_id=secret_id,
                client_id=client_id,
                per_secret=per_secret,
            )

    def prune_usage(self, before: datetime) -> int:
        with self._lock:
            return self._state.usage.prune(before)

    # -- dashboard queries --
    def search_clients(
        self,
        *,
        text: str | None = None,
        enabled: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Client], int]:
        with self._lock:
            clients = list(self._state.clients.values())
        return browse_memory.search_clients(
            clients, text=text, enabled=enabled, limit=limit, offset=offset
        )

    def count_active_secrets(self, now: datetime) -> int:
        with self._lock:
            secrets = [s.secret for s in self._state.secrets.values()]
        return sum(1 for s in secrets if browse_memory.is_live(s, now))

    def expiring_secrets(self, *, now: datetime, until: datetime, limit: int = 100) -> list[Secret]:
        with self._lock:
            secrets = [s.secret for s in self._state.secrets.values()]
        return browse_memory.expiring_secrets(secrets, now=now, until=until, limit=limit)

    def search_audit(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> list[AuditEvent]:
        with self._lock:
            events = list(self._state.audit)
        return browse_memory.search_audit(
            events,
            actor=actor,
            action=action,
            target_id=target_id,
            since=since,
            until=until,
            before_id=before_id,
            limit=limit,
        )

    # -- webhooks --------------------------------------------------------------------------
    @property
    def webhooks(self) -> MemoryWebhookStore:
        return self._webhooks

    # -- plans (owners' limits, roles, imported keys) ------------------------------------------
    def get_owner(self, owner: str) -> Owner | None:
        return self._state.owners.get(owner)

    def get_roles(self, names: Sequence[str]) -> dict[str, Role]:
        roles = self._state.roles
        return {name: roles[name] for name in names if name in roles}

    def list_roles(self) -> list[Role]:
        with self._lock:
            return sorted(self._state.roles.values(), key=lambda r: r.name)

    def read_lookup(self, kind: str, ident: str) -> LookupRecord:
        with self._lock:
            state = self._state
            if kind == "c":
                client = state.clients.get(ident)
                found = [
                    s
                    for s in state.secrets.values()
                    if s.secret.client_id == ident
                    and s.secret.prefix is None
                    and s.secret.legacy_id is None
                ]
            elif kind in ("s", "l"):
                one = state.secrets.get(ident) if kind == "s" else self._legacy(ident)
                found = [one] if one is not None else []
                client = state.clients.get(one.secret.client_id) if one is not None else None
            else:
                raise ValueError(f"unknown lookup kind: {kind!r}")
            found.sort(key=lambda s: (s.secret.created_at, s.secret.secret_id))
            owner = state.owners.get(client.owner) if client and client.owner else None
            held = {role for s in found for role in s.secret.roles}
            roles = {name: state.roles[name] for name in sorted(held) if name in state.roles}
        return LookupRecord(client, found, owner, roles)

    def _legacy(self, legacy_id: str) -> StoredSecret | None:
        return next(
            (s for s in self._state.secrets.values() if s.secret.legacy_id == legacy_id), None
        )

    def get_legacy(self, legacy_id: str) -> StoredSecret | None:
        with self._lock:
            return self._legacy(legacy_id)

    def record_owner_usage(self, usage: Mapping[str, tuple[str, int]]) -> None:
        with self._lock:
            for owner, (period, used) in usage.items():
                old = self._state.owners.get(owner)
                if old is None:
                    continue
                same = old.credits_period == period
                self._state.owners[owner] = dataclasses.replace(
                    old,
                    credits_period=period,
                    credits_used=max(old.credits_used, used) if same else used,
                )

    # -- portal sessions -------------------------------------------------------------------
    def get_portal_session(self, session_id: str) -> PortalSession | None:
        with self._lock:
            return self._state.portal.sessions.get(session_id)
