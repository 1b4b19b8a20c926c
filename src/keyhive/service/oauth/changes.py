"""The change feed, as OAuth listens to it: revoked tokens, changed secrets and clients,
new signing keys, delivered to every listener in this process.

It rides on the hive's own feed: the audit log, polled, and Redis pub/sub when
configured, for lower latency. A listener is any ``(target_type,
target_id)`` callable; ``("*", "")`` means messages may have been lost: reload.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Final

from keyhive.service.hive import KeyHive

log = logging.getLogger(__name__)
Listener = Callable[[str, str], None]
#: Sent to listeners when changes may have been missed (a Redis reconnect).
EVERYTHING: Final = ("*", "")


class ChangeFeed:
    """Fans the hive's changes out to OAuth's listeners; :meth:`publish` tells every node.

    The hive already follows the audit log (and Redis) for every change, this process's
    and other nodes'; OAuth listens to it rather than polling the database again.
    """

    def __init__(self, hive: KeyHive) -> None:
        self._hive = hive
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._unhook = hive.on_change(self.deliver)

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
        """After a committed change here: deliver it now and tell the other nodes (Redis at
        once when configured; the audit event of the change reaches them within a poll)."""
        self._hive.announce(target_type, target_id)

    def close(self) -> None:
        self._unhook()
