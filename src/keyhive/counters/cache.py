"""The verification cache: after a secret matched once, later checks skip the slow hash.

Keys are keyed BLAKE2b digests of the presented credential under a per-process random
key, so the cache never holds a plain secret and its keys are useless outside the
process. Entries hold what judging needs (the secret's record and its client); expiry
and grace periods are still judged on every hit, against the clock. Entries live at
most ``ttl`` seconds (the safety net for changes no invalidation reported) and the
least recently used go first once ``size`` is reached.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from hashlib import blake2b

from keyhive.core.model import Client, Code, Secret, Verification


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A matched secret, its client and when the entry stops being trusted (monotonic).

    ``valid`` is the VALID answer for this pair, built once: a hit that passes every
    check returns it instead of constructing a new value.
    """

    secret: Secret
    client: Client
    deadline: float
    valid: Verification


class VerificationCache:
    """A bounded LRU map from credential digests to matched secrets, with eviction by id."""

    def __init__(
        self,
        size: int = 100_000,
        ttl: float = 60.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if size < 1 or ttl <= 0:
            raise ValueError("cache size and ttl must be positive")
        self.size = size
        self.ttl = ttl
        self._keyed = blake2b(key=secrets.token_bytes(32), digest_size=32)
        self._monotonic = monotonic
        self._entries: OrderedDict[bytes, CacheEntry] = OrderedDict()
        self._by_secret: dict[str, set[bytes]] = {}
        self._by_client: dict[str, set[bytes]] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def digest(self, credential: str) -> bytes:
        """The cache key of a presented credential (never stored in plain)."""
        digest = self._keyed.copy()  # copying the keyed state skips the key setup
        digest.update(credential.encode("utf-8", "surrogatepass"))
        return digest.digest()

    def get(self, key: bytes) -> CacheEntry | None:
        """The live entry for ``key``, refreshed as most recently used; None on a miss.

        An entry past its TTL counts as a miss here but stays, for :meth:`stale`.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.deadline <= self._monotonic():
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def stale(self, key: bytes) -> CacheEntry | None:
        """The entry for ``key`` even past its TTL: proof that this credential matched.

        The facade re-reads such a secret and its client from the store instead of
        hashing again, so a known credential is never locked out by the failure
        throttle (which an attacker can trip for any public secret id).
        """
        with self._lock:
            return self._entries.get(key)

    def put(self, key: bytes, secret: Secret, client: Client) -> None:
        entry = CacheEntry(
            secret, client, self._monotonic() + self.ttl, Verification(Code.VALID, client, secret)
        )
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._unindex(key, old)
            self._entries[key] = entry
            self._by_secret.setdefault(secret.secret_id, set()).add(key)
            self._by_client.setdefault(client.client_id, set()).add(key)
            while len(self._entries) > self.size:
                oldest, dropped = self._entries.popitem(last=False)
                self._unindex(oldest, dropped)

    def evict_secret(self, secret_id: str) -> None:
        """Forget every entry of a secret (revoked, rotated, re-scoped, expiry changed)."""
        with self._lock:
            for key in self._by_secret.pop(secret_id, ()):
                entry = self._entries.pop(key, None)
                if entry is not None:
                    self._unindex(key, entry)

    def evict_client(self, client_id: str) -> None:
        """Forget every entry of a client (disabled, enabled, renamed)."""
        with self._lock:
            for key in self._by_client.pop(client_id, ()):
                entry = self._entries.pop(key, None)
                if entry is not None:
                    self._unindex(key, entry)

    def expire_secret(self, secret_id: str) -> None:
        """Stop trusting a secret's entries without forgetting them (a change elsewhere).

        The next use re-reads the secret and its client from the store instead of
        hashing again: a change another process made costs one read, not one scrypt.
        """
        self._expire(self._by_secret.get(secret_id, ()))

    def expire_client(self, client_id: str) -> None:
        """Stop trusting a client's entries without forgetting them (see expire_secret)."""
        self._expire(self._by_client.get(client_id, ()))

    def _expire(self, keys: Iterable[bytes]) -> None:
        with self._lock:
            for key in list(keys):
                entry = self._entries.get(key)
                if entry is not None and entry.deadline > 0:
                    self._entries[key] = dataclasses.replace(entry, deadline=0.0)

    def clear(self) -> None:
        """Forget everything (e.g. when the invalidation channel lost messages)."""
        with self._lock:
            self._entries.clear()
            self._by_secret.clear()
            self._by_client.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def keys_snapshot(self) -> list[bytes]:
        """The current keys (for tests that check no plain secret is held)."""
        with self._lock:
            return list(self._entries)

    def _drop(self, key: bytes, entry: CacheEntry) -> None:
        del self._entries[key]
        self._unindex(key, entry)

    def _unindex(self, key: bytes, entry: CacheEntry) -> None:
        for index, ident in (
            (self._by_secret, entry.secret.secret_id),
            (self._by_client, entry.client.client_id),
        ):
            keys = index.get(ident)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del index[ident]
