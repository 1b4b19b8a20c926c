"""Invalidation from the shared database: a thread polls the audit log for new changes.

Every admin change writes an audit event in the same transaction as the change, so the
audit log doubles as the change feed: another process (a node, or ``keyhive serve``
when the CLI made the change) sees it within one polling interval and evicts its cache.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from keyhive.storage import Store

Evict = Callable[[str, str], None]


class AuditPoller:
    """Calls ``evict(target_type, target_id)`` for each change other processes made."""

    def __init__(self, store: Store, evict: Evict, *, interval: float = 0.25) -> None:
        self._store = store
        self._evict = evict
        self._interval = interval
        self._cursor = store.last_audit_id()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="keyhive-changes", daemon=True)
            self._thread.start()

    def poll(self) -> int:
        """Process what is new now; returns how many events were seen."""
        seen = 0
        while True:
            events = self._store.list_audit(after_id=self._cursor, limit=500)
            for event in events:
                self._evict(event.target_type, event.target_id)
                self._cursor = max(self._cursor, event.id or 0)
            seen += len(events)
            if len(events) < 500:
                return seen

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if self._store.last_audit_id() > self._cursor:
                    self.poll()
            except Exception:  # noqa: S112 - the database may be back next round
                continue

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._interval + 2)


class Invalidator(Protocol):
    """A channel that tells every node about a change at once (lower latency than polling)."""

    def publish(self, target_type: str, target_id: str) -> None:
        """Announce that a client or secret changed."""
        ...

    def start(self, evict: Evict, clear: Callable[[], None]) -> None:
        """Deliver others' announcements to ``evict``; call ``clear`` whenever messages may
        have been lost (after a reconnect)."""
        ...

    def stop(self) -> None: ...
