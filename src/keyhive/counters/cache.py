"""The verification cache: what this process already knows, so that most checks need no
database read and none needs a slow hash.

Two maps, both :class:`~keyhive.counters.ttl.TTLCache`:

- *answers*, by credential digest: a credential that matched, with its secret and client.
  A repeat caller costs one keyed digest and one lookup.
- *records*, by lookup (``s:<secret id>`` for a token, ``c:<client id>`` for a client_id +
  secret pair): what the store holds, including "nothing" for an id it does not know.
  A wrong guess at a known id, or at an unknown one, costs a digest and a compare, not a
  database read, and never a slow hash.

Both also index what they hold by owner, so a change of an owner's limits drops exactly
what was read with them. Keys are digests under a server key
(:mod:`keyhive.core.digests`), so the cache never holds a plain secret. Expiry and grace
periods are still judged on every hit. Entries live ``ttl`` seconds (the safety net for
changes no invalidation reported); a change made here or reported by another node drops
what it touches, and the next use re-reads the store.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Final

from keyhive.core.digests import Digester
from keyhive.core.model import Client, Owner, Secret
from keyhive.core.serverkeys import ServerKeys
from keyhive.counters.protocols import CacheEntry, Known, make_entry
from keyhive.counters.ttl import TTLCache

#: What one map may hold in all, as estimated: callers choose what gets cached.
DEFAULT_MAX_BYTES: Final = 128 * 1024 * 1024
_BASE_WEIGHT: Final = 512


def _client_weight(client: Client | None) -> int:
    if client is None or not client.metadata:
        return _BASE_WEIGHT
    return _BASE_WEIGHT + len(json.dumps(dict(client.metadata), default=str))


class VerificationCache:
    """Answers by credential digest and store records by lookup, with eviction by id."""

    def __init__(
        self,
        size: int = 100_000,
        ttl: float = 60.0,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        digester: Digester | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.digest: Callable[[str], bytes] = digester or Digester(ServerKeys.ephemeral())
        self._answers: TTLCache[bytes, CacheEntry] = TTLCache(
            size,
            ttl,
            max_bytes=max_bytes,
            weigh=lambda _key, entry: _client_weight(entry.client),
            on_evict=self._answer_gone,
            monotonic=monotonic,
        )
        self._records: TTLCache[str, Known] = TTLCache(
            size,
            ttl,
            max_bytes=max_bytes,
            weigh=lambda _key, known: _client_weight(known.client) + 256 * len(known.candidates),
            on_evict=self._record_gone,
            monotonic=monotonic,
        )
        self.size = size
        self.ttl = ttl
        self._lock = threading.RLock()
        #: Moves on every eviction: a record read before it must not be cached after it.
        self.epoch = 0
        self._answers_of: dict[str, set[bytes]] = {}  # secret or client id -> answer keys
        self._records_of: dict[str, set[str]] = {}  # secret or client id -> lookups
        #: The answer for a credential digest, or None (a miss): the TTLCache's own method,
        #: so a cache hit costs one Python call here.
        self.get: Callable[[bytes], CacheEntry | None] = self._answers.get

    @property
    def _monotonic(self) -> Callable[[], float]:
        return self._answers._monotonic

    @_monotonic.setter
    def _monotonic(self, clock: Callable[[], float]) -> None:
        # Tests move time for both maps at once.
        self._answers._monotonic = clock
        self._records._monotonic = clock

    # -- answers -------------------------------------------------------------------------
    @property
    def hits(self) -> int:
        return self._answers.hits

    @property
    def misses(self) -> int:
        return self._answers.misses

    def put(
        self,
        key: bytes,
        secret: Secret,
        client: Client,
        *,
        epoch: int | None = None,
        granted: tuple[str, ...] | None = None,
        owner: Owner | None = None,
    ) -> CacheEntry:
        """Remember that the credential with digest ``key`` matched ``secret``.

        ``epoch`` is :attr:`epoch` as it was before the record was read: if anything was
        evicted since, the record may predate a change, so it is answered but not kept.
        ``granted`` (the scopes in force, roles included) and ``owner`` (the owner's
        limits) were read with the record.
        """
        entry = make_entry(secret, client, granted, owner)
        with self._lock:
            if epoch is not None and epoch != self.epoch:
                return entry
            for ident in _answer_idents(entry):
                self._answers_of.setdefault(ident, set()).add(key)
            self._answers.put(key, entry)
        return entry

    def _answer_gone(self, key: bytes, entry: CacheEntry) -> None:
        with self._lock:
            for ident in _answer_idents(entry):
                _discard(self._answers_of, ident, key)

    # -- records -------------------------------------------------------------------------
    def record(self, lookup: str) -> Known | None:
        """What the store held for ``lookup`` when last read, or None if not known here."""
        return self._records.get(lookup)

    def put_record(self, lookup: str, known: Known, *, epoch: int | None = None) -> None:
        """Remember a store read; skipped if anything was evicted since ``epoch``."""
        with self._lock:
            if epoch is not None and epoch != self.epoch:
                return
            for ident in _idents(known):
                self._records_of.setdefault(ident, set()).add(lookup)
            self._records.put(lookup, known)

    def _record_gone(self, lookup: str, known: Known) -> None:
        with self._lock:
            for ident in _idents(known):
                _discard(self._records_of, ident, lookup)

    # -- invalidation --------------------------------------------------------------------
    def evict_secret(self, secret_id: str) -> None:
        """Forget all this process knows of a secret (revoked, rotated, changed)."""
        self._forget(secret_id, extra=f"s:{secret_id}")

    def evict_client(self, client_id: str) -> None:
        """Forget all this process knows of a client and its secrets."""
        self._forget(client_id, extra=f"c:{client_id}")

    def forget_pairs(self, client_id: str) -> None:
        """Forget what this process read of a client's pair credentials (a secret was
        added to it elsewhere); its answers stay valid."""
        self._forget_lookup(f"c:{client_id}")

    def forget_legacy(self, legacy_id: str) -> None:
        """Forget what this process read for an imported key's handle (``drf:<prefix>``):
        it may have read "nothing" before the key was imported."""
        self._forget_lookup(f"l:{legacy_id}")

    def _forget_lookup(self, lookup: str) -> None:
        with self._lock:
            self.epoch += 1
            known = self._records.pop(lookup)
            if known is not None:
                self._record_gone(lookup, known)

    def evict_owner(self, owner: str) -> None:
        """Forget all this process knows of an owner's clients (their limits changed)."""
        self._forget(_OWNER + owner, extra=None)

    #: A change another process made: the same as one made here (the feed cannot tell).
    expire_secret = evict_secret
    expire_client = evict_client

    def _forget(self, ident: str, *, extra: str | None) -> None:
        with self._lock:
            self.epoch += 1
            answers = self._answers_of.pop(ident, set())
            lookups = self._records_of.pop(ident, set())
            if extra is not None:
                lookups.add(extra)
            for key in answers:
                entry = self._answers.pop(key)
                if entry is not None:
                    self._answer_gone(key, entry)
            for lookup in lookups:
                known = self._records.pop(lookup)
                if known is not None:
                    self._record_gone(lookup, known)

    def clear(self) -> None:
        """Forget everything (e.g. when the invalidation channel lost messages)."""
        with self._lock:
            self.epoch += 1
            self._answers.clear()
            self._records.clear()
            self._answers_of.clear()
            self._records_of.clear()

    def __len__(self) -> int:
        return len(self._answers)

    def keys_snapshot(self) -> list[bytes]:
        """The credential digests held (for tests that check no plain secret is held)."""
        return self._answers.keys()


#: Marks an owner in the indexes (no secret or client id starts with it).
_OWNER: Final = "\0owner:"


def _answer_idents(entry: CacheEntry) -> tuple[str, ...]:
    owner = entry.client.owner
    if owner is None:
        return (entry.secret.secret_id, entry.client.client_id)
    return (entry.secret.secret_id, entry.client.client_id, _OWNER + owner)


def _idents(known: Known) -> set[str]:
    idents = {stored.secret.secret_id for stored in known.candidates}
    if known.client is not None:
        idents.add(known.client.client_id)
        if known.client.owner is not None:
            idents.add(_OWNER + known.client.owner)
    return idents


def _discard(index: dict[str, set[str]] | dict[str, set[bytes]], ident: str, key: object) -> None:
    keys = index.get(ident)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[ident]
