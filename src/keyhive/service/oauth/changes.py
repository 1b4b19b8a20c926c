"""The change feed, as OAuth listens to it: revoked tokens, changed secrets and clients,
new signing keys, delivered to every listener in this process.

It rides on keyhive's own feed: the audit log, polled (:class:`AuditPoller`), and Redis
pub/sub when configured, for lower latency. A listener is any ``(target_type,
target_id)`` callable; ``("*", "")`` means messages may have been lost: reload.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Final

from keyhive.counters import factory as backends
from keyhive.counters.changes import AuditPoller, Invalidator
from keyhive.storage import Store

log = logging.getLogger(__name__)
Listener = Callable[[str, str], None]
#: Sent to listeners when changes may have been missed (a Redis reconnect).
EVERYTHING: Final = ("*", "")


class ChangeFeed:
    """Fans the feed out to listeners; :meth:`publish` tells the other nodes at once."""

    def __init__(
        self,
        store: Store,
        redis_url: str | None = None,
        *,
        interval: float = 0.25,
        watch: bool = True,
    ) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._poller: AuditPoller | None = None
        self._channel: Invalidator | None = backends.invalidator(redis_url)
        if watch:
            self._poller = AuditPoller(store, self.deliver, interval=interval)
            self._poller.start()
            if self._channel is not None:
                self._channel.start(self.deliver, lambda: self.deliver(*EVERYTHING))

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def deliver(self, target_type: str, target_id: str) -> None:
        """Hand one change to every listener; one that fails does not stop the rest."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(target_type, target_id)
            except Exception as exc:
                log.warning("oauth change listener failed: %s", type(exc).__name__)

    def publish(self, target_type: str, target_id: str) -> None:
        """After a committed change here: deliver it now, and tell other nodes over Redis
        (the audit log carries it to them too, within a polling interval)."""
        self.deliver(target_type, target_id)
        if self._channel is not None:
            self._channel.publish(target_type, target_id)

    def close(self) -> None:
        if self._poller is not None:
            self._poller.stop()
        if self._channel is not None:
            self._channel.stop()
