"""A background thread that writes a buffer out every few seconds (usage, signals).

Buffers count in memory and leave the database writes to this thread, so a verification
never waits for a write. It starts on the buffer's first use, not at construction, so
a hive that never verifies runs no thread; a flush that fails is retried next round
(the store may be back by then).
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Flusher:
    """Calls ``flush`` every ``interval`` seconds on a daemon thread, until :meth:`stop`."""

    def __init__(self, flush: Callable[[], object], interval: float, name: str) -> None:
        self._flush = flush
        self._interval = interval
        self._name = name
        self._lock = threading.Lock()
        self._stop = threading.Event()
        #: None until started: buffers test this on every use, so it stays an attribute.
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread, once; never after :meth:`stop`."""
        with self._lock:
            if self.thread is not None or self._stop.is_set():
                return
            self.thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self.thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._flush()
            except Exception:  # noqa: S112 - kept for the next round; the store may be back
                continue

    def stop(self) -> None:
        """Stop the thread and wait for a round under way (the caller flushes what is left)."""
        self._stop.set()
        if self.thread is not None:
            self.thread.join(timeout=self._interval + 1)
