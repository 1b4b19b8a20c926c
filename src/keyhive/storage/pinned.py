"""A DBAPI connection per thread for SQLite's first-verification reads.

A cache miss reads six statements on one connection (storage/lookup_sql.py). Taking
that connection from SQLAlchemy's pool and giving it back, with the pool's events and
its reset-on-return rollback, cost about a tenth of the whole read on SQLite
(65,000 of about 600,000 instructions per read, counted with callgrind). On SQLite a
connection is a file handle, so each thread that reads keeps its own, taken from the
pool once (with the PRAGMAs keyhive sets on every connection) and detached from it.
PostgreSQL keeps using the pool: its connections are a server's resource, counted per
node in docs/deploy.md.

A connection that raised is closed and forgotten, so the next read opens a fresh one; a
thread's connection is closed when the thread is gone, and at most ``limit`` threads
hold one at a time (others read through the pool as before);
:meth:`PinnedConnections.close` closes them all when the store closes.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from typing import Any, Final

from sqlalchemy.engine import Engine

#: Threads holding a connection at once: the event loop's and a worker pool's.
LIMIT: Final = 32


class PinnedConnections:
    """One detached DBAPI connection per thread, taken from ``engine``'s pool."""

    def __init__(self, engine: Engine, limit: int = LIMIT) -> None:
        self._engine = engine
        self._limit = limit
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: dict[int, Any] = {}  # id(connection) -> connection, to close them all
        self._closed = False

    def get(self) -> Any | None:
        """This thread's DBAPI connection, opened on its first use; None when the store
        is closed or ``limit`` threads already hold one (read through the pool then)."""
        if self._closed:
            return None
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        with self._lock:
            if self._closed or len(self._all) >= self._limit:
                return None
        proxied = self._engine.raw_connection()
        proxied.detach()  # the pool no longer counts, resets or closes it
        connection = proxied.dbapi_connection
        with self._lock:
            if self._closed:
                connection.close()
                return None
            self._all[id(connection)] = connection
        self._local.connection = connection
        weakref.finalize(threading.current_thread(), self._forget, connection)
        return connection

    def drop(self) -> None:
        """Close and forget this thread's connection (after it raised)."""
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            self._forget(connection)

    def _forget(self, connection: Any) -> None:
        with self._lock:
            self._all.pop(id(connection), None)
        with contextlib.suppress(Exception):
            connection.close()

    def close(self) -> None:
        """Close every thread's connection; later reads fail."""
        with self._lock:
            self._closed = True
            connections, self._all = list(self._all.values()), {}
        for connection in connections:
            with contextlib.suppress(Exception):
                connection.close()
