"""Cache invalidation across nodes over Redis pub/sub.

Each admin change is published as ``<target_type> <target_id>``; every node evicts that
entry at once. A subscriber that loses its connection may have missed messages, so on
every (re)connect it clears the whole cache; the cache TTL bounds staleness meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from keyhive.counters.protocols import Evict

log = logging.getLogger(__name__)
CHANNEL = "keyhive:invalidate"


class RedisInvalidator:
    """Publishes changes and listens for other nodes' changes on one Redis channel."""

    def __init__(self, url: str, *, channel: str = CHANNEL, retry: float = 0.5) -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._url = url
        self._channel = channel
        self._retry = retry
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()

    def publish(self, target_type: str, target_id: str) -> None:
        try:
            self._redis.publish(self._channel, f"{target_type} {target_id}")
        except Exception as exc:  # the audit poller still carries the change
            log.warning("could not publish invalidation: %s", type(exc).__name__)

    def start(self, evict: Evict, clear: Callable[[], None]) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._listen, args=(evict, clear), name="keyhive-redis-inval", daemon=True
            )
            self._thread.start()

    def _listen(self, evict: Evict, clear: Callable[[], None]) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        while not self._stop.is_set():
            pubsub = None
            try:
                # No silent retries: redis-py would reconnect and resubscribe on its own,
                # skipping the clear() that the messages lost meanwhile call for.
                client: Any = redis.Redis.from_url(
                    self._url, socket_connect_timeout=1.0, retry=Retry(NoBackoff(), 0)
                )
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self._channel)
                clear()  # anything could have changed while we were not listening
                self.connected.set()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message and message.get("type") == "message":
                        kind, _, ident = message["data"].decode("utf-8", "replace").partition(" ")
                        evict(kind, ident)
            except Exception as exc:
                self.connected.clear()
                log.warning("invalidation channel lost (%s); retrying", type(exc).__name__)
                self._stop.wait(self._retry)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):  # closing a dead connection
                        pubsub.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
