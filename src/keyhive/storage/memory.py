"""An in-memory Store: the reference implementation of the contract, for tests and demos."""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from keyhive.core.errors import ClientNotFound, Conflict, SecretNotFound
from keyhive.core.model import AuditEvent, Client, Secret, StoredSecret
from keyhive.core.usage import UsageRow
from keyhive.storage import browse_memory
from keyhive.storage._protocol import Transaction, Usage
from keyhive.storage.usage_memory import UsageBuckets


class _State:
    def __init__(self) -> None:
        self.clients: dict[str, Client] = {}
        self.secrets: dict[str, StoredSecret] = {}
        self.audit: list[AuditEvent] = []
        self.usage = UsageBuckets()


class _MemoryTransaction:
    def __init__(self, state: _State) -> None:
        self._s = state

    def insert_client(self, client: Client) -> None:
        if client.client_id in self._s.clients:
            raise Conflict("client_id exists")
        self._s.clients[client.client_id] = client

    def update_client(self, client: Client) -> None:
        if client.client_id not in self._s.clients:
            raise ClientNotFound(client.client_id)
        self._s.clients[client.client_id] = client

    def insert_secret(self, stored: StoredSecret) -> None:
        if stored.secret.secret_id in self._s.secrets:
            raise Conflict("secret_id exists")
        if stored.secret.client_id not in self._s.clients:
            raise ClientNotFound(stored.secret.client_id)
        self._s.secrets[stored.secret.secret_id] = stored

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
        self._s.secrets[secret.secret_id] = StoredSecret(kept, old.hash)

    def append_audit(self, event: AuditEvent) -> None:
        self._s.audit.append(dataclasses.replace(event, id=len(self._s.audit) + 1))


class MemoryStore:
    """Keeps everything in dicts behind one lock; a failed transaction leaves no trace."""

    def __init__(self) -> None:
        self._state = _State()
        self._lock = threading.RLock()

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
            self._state.secrets[secret_id] = StoredSecret(stored.secret, new)
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
                self._state.secrets[secret_id] = StoredSecret(secret, stored.hash)

    def delete_all(self) -> None:
        with self._lock:
            self._state = _State()

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
