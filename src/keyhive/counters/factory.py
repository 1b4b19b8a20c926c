"""Backends built from settings and URLs: the one place that picks concrete classes.

The service layer asks :func:`build` for its parts and sees only their protocols; memory
or Redis, SQLite or PostgreSQL is decided here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from keyhive.core.clock import Clock, SystemClock
from keyhive.core.digests import Digester
from keyhive.core.errors import ConfigurationError
from keyhive.core.hashing import Hashing
from keyhive.core.serverkeys import ServerKeys, create_key_file, key_file_for
from keyhive.core.settings import Settings
from keyhive.core.webhooks import Signal
from keyhive.counters.cache import VerificationCache
from keyhive.counters.changes import AuditPoller
from keyhive.counters.meter import MemoryMeter, RedisMeter
from keyhive.counters.protocols import (
    ChangeFeed,
    CredentialCache,
    Evict,
    Invalidator,
    Meter,
    SignalSink,
    Throttle,
    UsageSink,
)
from keyhive.counters.signals import SignalBuffer
from keyhive.counters.throttle import FailureThrottle
from keyhive.counters.usage import UsageBuffer, UsageRecorder
from keyhive.storage import Store, open_store

log = logging.getLogger(__name__)
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def check_redis_url(redis_url: str | None) -> str | None:
    """The URL if it names Redis (or None for none); a ConfigurationError otherwise.

    Checked here so that a typo is one clear error that does not echo the URL, which
    may hold a password.
    """
    if not redis_url:
        return None
    if not redis_url.startswith(_REDIS_SCHEMES):
        raise ConfigurationError("KEYHIVE_REDIS_URL must start with redis://, rediss:// or unix://")
    return redis_url


def meter(redis_url: str | None) -> Meter:
    """Rate-limit windows and credit counters: in this process, or shared through Redis."""
    url = check_redis_url(redis_url)
    return RedisMeter(url) if url else MemoryMeter()


def invalidator(redis_url: str | None) -> Invalidator | None:
    """The channel that tells other nodes about changes: Redis pub/sub, or none."""
    url = check_redis_url(redis_url)
    if url is None:
        return None
    from keyhive.counters.redis_changes import RedisInvalidator

    return RedisInvalidator(url)


def signal_buffer(write: Callable[[Sequence[Signal]], None], interval: float = 2.0) -> SignalSink:
    """The buffer between verification and the webhook outbox (see counters/signals.py)."""
    return SignalBuffer(write, interval)


class HiveOptions(TypedDict, total=False):
    """Keyword options of :class:`~keyhive.KeyHive` and :class:`~keyhive.AsyncKeyHive`.

    ``settings`` defaults to the ``KEYHIVE_*`` environment; the rest replace one part
    each (tests pass a ``clock``, a ``store`` or a ``throttle``). ``throttle`` and
    ``invalidator`` may be None to turn them off.
    """

    settings: Settings
    store: Store
    hashing: Hashing
    clock: Clock
    migrate: bool
    usage_flush_interval: float
    cache_size: int
    cache_ttl: float
    watch_changes: bool
    change_interval: float
    throttle: Throttle | None
    meter: Meter
    invalidator: Invalidator | None


@dataclass
class Parts:
    """Everything a facade runs on, by protocol. Built by :func:`build`; nothing starts
    until :meth:`start`."""

    settings: Settings
    store: Store
    hashing: Hashing
    server_keys: ServerKeys
    digester: Digester
    #: Whether digests are stored: the server key outlives this process (or the store
    #: does not: a memory store dies with its process key).
    store_digests: bool
    clock: Clock
    cache: CredentialCache | None
    throttle: Throttle | None
    meter: Meter
    usage: UsageSink
    #: Publishes this process's changes to other nodes (and, when watching, hears theirs).
    invalidator: Invalidator | None
    #: Whether to follow other processes' changes (off for one-shot CLI commands).
    watch: bool
    feed: Callable[[Evict], ChangeFeed]

    def start(self, evict: Evict, clear: Callable[[], None]) -> ChangeFeed | None:
        """Start following other processes' changes; returns the feed to stop later."""
        if self.cache is None or not self.watch:
            return None
        feed = self.feed(evict)
        feed.start()
        if self.invalidator is not None:
            self.invalidator.start(evict, clear)
        return feed


def build(database_url: str | None, options: HiveOptions) -> Parts:
    """The parts for a database URL and options (see :class:`HiveOptions`)."""
    unknown = set(options) - set(HiveOptions.__annotations__)
    if unknown:
        raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(unknown))}")
    given: dict[str, Any] = dict(options)
    base = given.get("settings") or Settings.from_env()
    if not isinstance(base, Settings):
        raise TypeError(f"settings must be a keyhive Settings, not {type(base).__name__}")
    settings = base.with_overrides(database_url=database_url)
    store: Store = given.get("store") or open_store(settings.database_url)
    if given.get("migrate", True):
        store.migrate()
        key_file = key_file_for(settings.database_url)
        if key_file is not None and not settings.peppers and create_key_file(key_file):
            log.info("created the server key file %s (mode 0600)", key_file)
    server_keys = settings.server_keys()
    if not server_keys.durable and not store.ephemeral:
        log.warning(
            "no server key (KEYHIVE_PEPPERS): verification digests are off, so a node "
            "that restarts hashes every credential it sees again"
        )
    digester = Digester(server_keys)
    clock: Clock = given.get("clock") or SystemClock()
    cache_size = given.get("cache_size", 100_000)
    cache = (
        VerificationCache(cache_size, given.get("cache_ttl", 60.0), digester=digester)
        if cache_size > 0
        else None
    )
    redis_url = settings.redis_url
    watch = given.get("watch_changes", True)
    interval = given.get("change_interval", 0.25)
    return Parts(
        settings=settings,
        store=store,
        hashing=given.get("hashing") or settings.make_hashing(),
        server_keys=server_keys,
        digester=digester,
        store_digests=server_keys.durable or store.ephemeral,
        clock=clock,
        cache=cache,
        throttle=given["throttle"] if "throttle" in given else FailureThrottle(),
        meter=given.get("meter") or meter(redis_url),
        usage=UsageBuffer(
            UsageRecorder(store, clock, settings.usage_retention),
            given.get("usage_flush_interval", 5.0),
            owners=store.record_owner_usage,
        ),
        invalidator=given["invalidator"] if "invalidator" in given else invalidator(redis_url),
        watch=watch,
        feed=lambda evict: AuditPoller(store, evict, interval=interval),
    )
