"""The async twin of KeyHive for ASGI apps: every method of KeyHive, as a coroutine.

Verification runs the pipeline's first stage on the event loop (a cache hit, a wrong
guess at a known id and a malformed token cost microseconds and no I/O) and sends only
pending checks to a bounded thread pool, where ``hashlib.scrypt`` releases the GIL.
Checks whose id or address keeps failing go to a lane of one thread, so a guessing
flood can never occupy every worker. Everything else (admin changes) is one hop to the
pool each: they write to the database.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, Unpack, overload

from keyhive.core.credentials import Credential, PairCredential, TokenCredential
from keyhive.core.model import Verification
from keyhive.counters.factory import HiveOptions
from keyhive.service.hive import KeyHive
from keyhive.service.pipeline import Pending, Stage

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


class _Threaded(Generic[P, R]):
    """A KeyHive method as a coroutine method of AsyncKeyHive, run in its thread pool."""

    def __init__(self, method: Callable[Concatenate[KeyHive, P], R]) -> None:
        self._method = method
        self.__doc__ = method.__doc__

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> _Threaded[P, R]: ...

    @overload
    def __get__(
        self, obj: AsyncKeyHive, owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...

    def __get__(
        self, obj: AsyncKeyHive | None, owner: type[Any]
    ) -> _Threaded[P, R] | Callable[P, Coroutine[Any, Any, R]]:
        if obj is None:
            return self
        method, hive, pool = self._method, obj.hive, obj._pool

        @functools.wraps(method)
        async def call(*args: P.args, **kwargs: P.kwargs) -> R:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                pool, functools.partial(method, hive, *args, **kwargs)
            )

        return call


class AsyncKeyHive:
    """KeyHive for event loops; ``max_workers`` bounds how many slow checks run at once.

    ``AsyncKeyHive("sqlite:///…", **options)`` takes the same arguments as KeyHive;
    ``AsyncKeyHive(hive)`` wraps an existing one. Anything else is a TypeError here,
    not a failure at the first request.
    """

    @overload
    def __init__(self, hive: KeyHive, /, *, max_workers: int | None = None) -> None: ...

    @overload
    def __init__(
        self,
        database_url: str | None = None,
        /,
        *,
        max_workers: int | None = None,
        **options: Unpack[HiveOptions],
    ) -> None: ...

    def __init__(
        self,
        source: KeyHive | str | None = None,
        /,
        *,
        max_workers: int | None = None,
        **options: Unpack[HiveOptions],
    ) -> None:
        if isinstance(source, KeyHive):
            if options:
                raise TypeError("options are for a new KeyHive; this one is built already")
            self.hive = source
        elif source is None or isinstance(source, str):
            self.hive = KeyHive(source, **options)
        else:
            raise TypeError(
                f"AsyncKeyHive takes a KeyHive or a database URL, not {type(source).__name__}"
            )
        if max_workers is not None and (type(max_workers) is not int or max_workers < 1):
            raise TypeError("max_workers must be a positive integer")
        self._local_reads = self.hive.store.local_reads
        workers = max_workers or usable_cores()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="keyhive-hash")
        self._narrow = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keyhive-suspect")

    @classmethod
    def open(cls, database_url: str | None = None, **options: Unpack[HiveOptions]) -> AsyncKeyHive:
        """Build the sync facade (and its store) and wrap it."""
        return cls(database_url, **options)

    async def aclose(self) -> None:
        """Close the facade (writing usage counts) and stop the workers."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._pool, self.hive.close)
        self._pool.shutdown(wait=False)
        self._narrow.shutdown(wait=False)

    # -- verification --------------------------------------------------------------------------
    async def verify_credential(
        self,
        credential: Credential,
        scopes: Sequence[str] = (),
        *,
        ip: str | None = None,
        cost: int = 1,
    ) -> Verification:
        """The pipeline's first stage here, the rest (if any) in a worker."""
        result = self.begin(credential, scopes, ip=ip, cost=cost)
        return result if isinstance(result, Verification) else await result

    def begin(
        self,
        credential: Credential,
        scopes: Sequence[str] = (),
        *,
        ip: str | None = None,
        cost: int = 1,
    ) -> Verification | asyncio.Future[Verification]:
        """:meth:`verify_credential` without a coroutine of its own: the answer when it
        needs no I/O, else the future of the worker finishing it. A caller on the hot
        path (an integration) saves a coroutine per request on a cache hit."""
        result = self.hive.pipeline.start(credential, scopes, ip=ip, cost=cost)
        return result if isinstance(result, Verification) else self.go_on(result)

    def go_on(self, pending: Pending) -> Verification | asyncio.Future[Verification]:
        """What the first stage left: a local read here, the rest in a worker (the
        integrations call this after the pipeline's first stage for a bearer token)."""
        pipeline = self.hive.pipeline
        if self._local_reads and pending.stage is Stage.LOOKUP and not pending.suspect:
            # A local read costs less than the hop to a worker (measured: the hop was
            # most of a restarted node's first verification); only what blocks goes on.
            result = pipeline.read_now(pending)
            if isinstance(result, Verification):
                return result
            pending = result
        pool = self._narrow if pending.suspect else self._pool
        return asyncio.get_running_loop().run_in_executor(pool, pipeline.finish, pending)

    async def verify(
        self, token: str, scopes: Sequence[str] = (), *, ip: str | None = None, cost: int = 1
    ) -> Verification:
        return await self.verify_credential(TokenCredential(token), scopes, ip=ip, cost=cost)

    async def verify_pair(
        self,
        client_id: str,
        secret: str,
        scopes: Sequence[str] = (),
        *,
        ip: str | None = None,
        cost: int = 1,
    ) -> Verification:
        credential = PairCredential(client_id, secret)
        return await self.verify_credential(credential, scopes, ip=ip, cost=cost)

    def verify_cached(
        self,
        credential: Credential,
        scopes: Sequence[str] = (),
        *,
        ip: str | None = None,
        cost: int = 1,
    ) -> Verification | None:
        """The answer when it needs no I/O (no await needed), else None."""
        return self.hive.verify_cached(credential, scopes, ip=ip, cost=cost)

    # -- hooks for services over the facade: no I/O, no hop ------------------------------------
    def on_change(self, listener: Callable[[str, str], None]) -> Callable[[], None]:
        return self.hive.on_change(listener)

    def on_close(self, callback: Callable[[], None]) -> None:
        self.hive.on_close(callback)

    # -- everything else: one hop to the pool each ---------------------------------------------
    create_client = _Threaded(KeyHive.create_client)
    get_client = _Threaded(KeyHive.get_client)
    list_clients = _Threaded(KeyHive.list_clients)
    update_client = _Threaded(KeyHive.update_client)
    disable_client = _Threaded(KeyHive.disable_client)
    enable_client = _Threaded(KeyHive.enable_client)
    issue_secret = _Threaded(KeyHive.issue_secret)
    get_secret = _Threaded(KeyHive.get_secret)
    list_secrets = _Threaded(KeyHive.list_secrets)
    revoke = _Threaded(KeyHive.revoke)
    rotate = _Threaded(KeyHive.rotate)
    update = _Threaded(KeyHive.update)
    import_secret = _Threaded(KeyHive.import_secret)
    import_secrets = _Threaded(KeyHive.import_secrets)
    import_legacy_keys = _Threaded(KeyHive.import_legacy_keys)
    get_owner_limits = _Threaded(KeyHive.get_owner_limits)
    set_owner_limits = _Threaded(KeyHive.set_owner_limits)
    create_role = _Threaded(KeyHive.create_role)
    get_role = _Threaded(KeyHive.get_role)
    list_roles = _Threaded(KeyHive.list_roles)
    scopes_in_force = _Threaded(KeyHive.scopes_in_force)
    update_role = _Threaded(KeyHive.update_role)
    delete_role = _Threaded(KeyHive.delete_role)
    bootstrap_admin = _Threaded(KeyHive.bootstrap_admin)
    recover_admin = _Threaded(KeyHive.recover_admin)
    audit = _Threaded(KeyHive.audit)
    verify_audit = _Threaded(KeyHive.verify_audit)
    audit_head = _Threaded(KeyHive.audit_head)
    check_leaks = _Threaded(KeyHive.check_leaks)
    revoke_leaked = _Threaded(KeyHive.revoke_leaked)
    create_webhook = _Threaded(KeyHive.create_webhook)
    list_webhooks = _Threaded(KeyHive.list_webhooks)
    get_webhook = _Threaded(KeyHive.get_webhook)
    remove_webhook = _Threaded(KeyHive.remove_webhook)
    webhook_deliveries = _Threaded(KeyHive.webhook_deliveries)
    test_webhook = _Threaded(KeyHive.test_webhook)
    flush = _Threaded(KeyHive.flush)
    close = _Threaded(KeyHive.close)
    announce = _Threaded(KeyHive.announce)
    usage = _Threaded(KeyHive.usage)
    client_usage = _Threaded(KeyHive.client_usage)
    total_usage = _Threaded(KeyHive.total_usage)
    secrets_usage = _Threaded(KeyHive.secrets_usage)
    search_clients = _Threaded(KeyHive.search_clients)
    count_active_secrets = _Threaded(KeyHive.count_active_secrets)
    expiring_secrets = _Threaded(KeyHive.expiring_secrets)
    search_audit = _Threaded(KeyHive.search_audit)
    create_portal_session = _Threaded(KeyHive.create_portal_session)
    open_portal_session = _Threaded(KeyHive.open_portal_session)
    portal_session = _Threaded(KeyHive.portal_session)
    portal_keys = _Threaded(KeyHive.portal_keys)
    portal_secret = _Threaded(KeyHive.portal_secret)
    portal_client = _Threaded(KeyHive.portal_client)
    portal_issue = _Threaded(KeyHive.portal_issue)
    portal_rotate = _Threaded(KeyHive.portal_rotate)
    portal_revoke = _Threaded(KeyHive.portal_revoke)
