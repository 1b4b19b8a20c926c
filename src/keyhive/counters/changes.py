"""Invalidation from the shared database: a thread polls the audit log for new changes.

Every admin change writes an audit event in the same transaction as the change, so the
audit log doubles as the change feed: another process (a node, or ``keyhive serve``
when the CLI made the change) sees it within one polling interval and evicts its cache.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from keyhive.core.model import AuditEvent
from keyhive.counters.protocols import Evict
from keyhive.storage import Store


def _client_of(event: AuditEvent) -> str | None:
    """The client a secret event belongs to (from its before/after records)."""
    if event.target_type != "secret":
        return None
    for record in (event.after, event.before):
        if record is not None and isinstance(record.get("client_id"), str):
            return str(record["client_id"])
    return None


def _legacy_of(event: AuditEvent) -> str | None:
    """The handle of an imported key (``drf:<prefix>``) a secret event is about."""
    if event.target_type != "secret" or event.after is None:
        return None
    legacy = event.after.get("legacy_id")
    return legacy if isinstance(legacy, str) else None


class AuditPoller:
    """Calls ``evict(target_type, target_id)`` for each change other processes made.

    On PostgreSQL, audit ids come from a sequence: a transaction can take id 10, commit
    after the one that took id 11, and become visible after the poller has read 11. So
    the poller keeps a missing id open for ``gap_wait`` seconds (a rolled-back
    transaction leaves a gap for good) instead of stepping over it.
    """

    def __init__(
        self,
        store: Store,
        evict: Evict,
        *,
        interval: float = 0.25,
        gap_wait: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._evict = evict
        self._interval = interval
        self._gap_wait = gap_wait
        self._monotonic = monotonic
        self._cursor = store.last_audit_id()  # every id up to here is handled or given up
        self._seen: set[int] = set()  # ids above the cursor already handled
        self._gaps: dict[int, float] = {}  # missing id -> when it was first missed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="keyhive-changes", daemon=True)
            self._thread.start()

    @property
    def waiting(self) -> int:
        """How many missing ids are still awaited (a transaction may yet commit them)."""
        return len(self._gaps)

    def poll(self) -> int:
        """Process what is new now; returns how many events were seen for the first time."""
        seen = 0
        after = self._cursor
        while True:
            events = self._store.list_audit(after_id=after, limit=500)
            for event in events:
                ident = event.id or 0
                after = max(after, ident)
                if ident > self._cursor and ident not in self._seen:
                    self._evict(event.target_type, event.target_id)
                    owner = _client_of(event)
                    if owner is not None:
                        # A secret added to (or changed in) a client: what this process
                        # knows of the client's pair credentials is out of date too.
                        self._evict("pairs", owner)
                    legacy = _legacy_of(event)
                    if legacy is not None:
                        # An imported key: this process may have looked its handle up
                        # (and found nothing) before the import.
                        self._evict("legacy", legacy)
                    self._seen.add(ident)
                    seen += 1
            if len(events) < 500:
                break
        self._advance()
        return seen

    def _advance(self) -> None:
        """Move the cursor over handled ids and over gaps that waited long enough."""
        now = self._monotonic()
        top = max(self._seen, default=self._cursor)
        for missing in range(self._cursor + 1, top):
            if missing not in self._seen:
                self._gaps.setdefault(missing, now)
        while self._cursor < top:
            following = self._cursor + 1
            if following in self._seen:
                self._seen.discard(following)
            elif now - self._gaps.get(following, now) < self._gap_wait:
                break
            self._gaps.pop(following, None)
            self._cursor = following

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if self._gaps or self._store.last_audit_id() > self._cursor:
                    self.poll()
            except Exception:  # noqa: S112 - the database may be back next round
                continue

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._interval + 2)
