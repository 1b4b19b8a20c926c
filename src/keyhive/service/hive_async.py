"""The async twin of KeyHive for ASGI apps.

Cache hits are answered on the event loop (microseconds, no I/O); everything else runs
in a bounded thread pool, where ``hashlib.scrypt`` releases the GIL, so slow hashes run
in parallel and never stall the loop.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

from keyhive.core.credentials import Credential, PairCredential, TokenCredential
from keyhive.core.model import AuditEvent, Client, Issued, Secret, Verification
from keyhive.service.hive import KeyHive

P = ParamSpec("P")
R = TypeVar("R")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least one.

    Slow hashes release the GIL, so one worker per usable core keeps them all busy;
    more workers would only take CPU time from the event loop.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without affinity
        return max(1, os.cpu_count() or 1)


class AsyncKeyHive:
    """Wraps a KeyHive; ``max_workers`` bounds how many slow checks run at once."""

    def __init__(self, hive: KeyHive, *, max_workers: int | None = None) -> None:
        self.hive = hive
        workers = max_workers or usable_cores()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="keyhive-hash")

    @classmethod
    def open(cls, database_url: str | None = None, **options: Any) -> AsyncKeyHive:
        """Build the sync facade (and its store) and wrap it."""
        return cls(KeyHive(database_url, **options))

    async def _run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    async def aclose(self) -> None:
        """Close the facade (writing usage counts) and stop the workers."""
        await self._run(self.hive.close)
        self._pool.shutdown(wait=False)

    # -- verification --------------------------------------------------------------------------
    async def verify(
        self, token: str, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verification:
        return await self.verify_credential(TokenCredential(token), scopes, ip=ip)

    async def verify_pair(
        self, client_id: str, secret: str, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verification:
        return await self.verify_credential(PairCredential(client_id, secret), scopes, ip=ip)

    async def verify_credential(
        self, credential: Credential, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verification:
        hit = self.hive.verify_cached(credential, scopes, ip=ip)
        if hit is not None:
            return hit
        return await self._run(self.hive.verify_credential, credential, scopes, ip=ip)

    # -- administration (each a thread hop: they write to the database) -----------------------
    async def create_client(self, name: str, **options: Any) -> Client:
        return await self._run(self.hive.create_client, name, **options)

    async def get_client(self, client_id: str) -> Client:
        return await self._run(self.hive.get_client, client_id)

    async def list_clients(self, **options: Any) -> list[Client]:
        return await self._run(self.hive.list_clients, **options)

    async def update_client(self, client_id: str, **changes: Any) -> Client:
        return await self._run(self.hive.update_client, client_id, **changes)

    async def disable_client(self, client_id: str, *, actor: str | None = None) -> Client:
        return await self._run(self.hive.disable_client, client_id, actor=actor)

    async def enable_client(self, client_id: str, *, actor: str | None = None) -> Client:
        return await self._run(self.hive.enable_client, client_id, actor=actor)

    async def issue_secret(
        self, client_id: str, *, scopes: Iterable[str] = (), **options: Any
    ) -> Issued:
        return await self._run(self.hive.issue_secret, client_id, scopes=scopes, **options)

    async def get_secret(self, secret_id: str) -> Secret:
        return await self._run(self.hive.get_secret, secret_id)

    async def list_secrets(self, client_id: str) -> list[Secret]:
        return await self._run(self.hive.list_secrets, client_id)

    async def revoke(
        self, secret_id: str, *, reason: str | None = None, actor: str | None = None
    ) -> Secret:
        return await self._run(self.hive.revoke, secret_id, reason=reason, actor=actor)

    async def rotate(
        self, secret_id: str, *, grace: timedelta | str = timedelta(0), actor: str | None = None
    ) -> Issued:
        return await self._run(self.hive.rotate, secret_id, grace=grace, actor=actor)

    async def update(self, secret_id: str, **changes: Any) -> Secret:
        return await self._run(self.hive.update, secret_id, **changes)

    async def audit(self, **options: Any) -> list[AuditEvent]:
        return await self._run(self.hive.audit, **options)
