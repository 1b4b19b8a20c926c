"""The one bounded cache keyhive uses: least recently used out first, entries with a
time to live, bounded in entries and in (estimated) bytes.

Callers choose keys from what requests carry, so every such map must have a bound an
attacker cannot push past: ``max_bytes`` counts what each value weighs, not only how many
there are. ``on_evict`` tells the owner when an entry leaves for any reason but an
explicit :meth:`pop`, so it can keep indexes of its own.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """A thread-safe LRU map whose entries die ``ttl`` seconds after they were put."""

    def __init__(
        self,
        size: int,
        ttl: float,
        *,
        max_bytes: int | None = None,
        weigh: Callable[[K, V], int] | None = None,
        on_evict: Callable[[K, V], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if size < 1 or ttl <= 0 or (max_bytes is not None and max_bytes < 1):
            raise ValueError("cache size, ttl and max_bytes must be positive")
        self.size = size
        self.ttl = ttl
        self.max_bytes = max_bytes
        self._weigh = weigh
        self._on_evict = on_evict
        self._monotonic = monotonic
        self._entries: OrderedDict[K, tuple[float, int, V]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: K) -> V | None:
        """The live value for ``key`` (refreshed as most recently used), else None.

        A live entry is read without the lock: this is every cache hit, and each step
        (``dict.get``, ``move_to_end``) is one atomic operation of the OrderedDict. An
        entry another thread drops in between is still the answer it held when read,
        as it would be had the read come first. Only the removal of an expired entry,
        which moves the byte count, takes the lock. ``hits`` and ``misses`` are
        statistics: an increment lost to a concurrent one is accepted.
        """
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        if found[0] > self._monotonic():
            try:  # noqa: SIM105 - try costs nothing here, a context manager would not
                self._entries.move_to_end(key)
            except KeyError:  # dropped by another thread since the read
                pass
            self.hits += 1
            return found[2]
        self.misses += 1
        with self._lock:
            if self._entries.get(key) is not found:
                return None  # replaced or dropped by another thread meanwhile
            del self._entries[key]
            self._bytes -= found[1]
        if self._on_evict is not None:
            self._on_evict(key, found[2])
        return None

    def put(self, key: K, value: V, ttl: float | None = None) -> None:
        """Remember ``value``; the oldest entries go once a bound is passed."""
        weight = self._weigh(key, value) if self._weigh is not None else 0
        deadline = self._monotonic() + (self.ttl if ttl is None else ttl)
        evicted: list[tuple[K, V]] = []
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (deadline, weight, value)
            self._bytes += weight
            limit = self.max_bytes
            while len(self._entries) > self.size or (
                limit is not None and self._bytes > limit and len(self._entries) > 1
            ):
                oldest, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped[1]
                evicted.append((oldest, dropped[2]))
        if self._on_evict is not None:
            for item in evicted:
                self._on_evict(*item)

    def pop(self, key: K) -> V | None:
        """Forget ``key``; its value, or None (no ``on_evict``: the caller knows)."""
        with self._lock:
            found = self._entries.pop(key, None)
            if found is None:
                return None
            self._bytes -= found[1]
            return found[2]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def keys(self) -> list[K]:
        with self._lock:
            return list(self._entries)

    @property
    def weight(self) -> int:
        """What the entries weigh in all (bytes, as estimated by ``weigh``)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)
