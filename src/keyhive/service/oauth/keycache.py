"""A cached JSON Web Key Set, refreshed on an unknown ``kid`` but never more often than
``min_refresh`` seconds, so tokens with made-up kids cannot make it fetch per request.

The set comes from a callable: the local key ring, or a JWKS URL (:mod:`.jwks_url`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from joserfc.jwk import Key

from keyhive.core.errors import StorageUnavailable
from keyhive.service.oauth import jose

log = logging.getLogger(__name__)
#: Returned by :meth:`KeyCache.find` with ``io=False`` when only a fetch could answer.
NEEDS_IO: Final = object()
Fetch = Callable[[], Mapping[str, Any]]


class KeysUnavailable(StorageUnavailable):
    """No key set could be had (the JWKS URL is down and nothing is cached): fail closed."""


class KeyCache:
    """kid -> (alg, key) of a JWKS, fetched at first use and kept ``max_age`` seconds."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        min_refresh: float = 10.0,
        max_age: float = 900.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._min_refresh = min_refresh
        self._max_age = max_age
        self._monotonic = monotonic
        self._keys: dict[str, tuple[str, Key]] | None = None
        self._loaded_at = 0.0
        self._tried_at = float("-inf")
        self._stale = False
        self._lock = threading.Lock()
        #: How many fetches were made (for tests and metrics).
        self.fetches = 0

    def find(self, kid: str, *, io: bool = True) -> tuple[str, Key] | object | None:
        """The (alg, key) for ``kid``; None if the set has no such key even after a
        refresh allowed now; :data:`NEEDS_IO` if ``io`` is False and a fetch is due."""
        now = self._monotonic()
        keys = self._keys
        if keys is None or self._stale or now - self._loaded_at > self._max_age:
            if not io:
                return NEEDS_IO
            keys = self._refresh(force=keys is None or self._stale)
        found = keys.get(kid)
        if found is not None:
            return found
        if now - self._tried_at < self._min_refresh:
            return None
        if not io:
            return NEEDS_IO
        return self._refresh(force=False).get(kid)

    def mark_stale(self) -> None:
        """The set changed (a new signing key): fetch before the next lookup."""
        self._stale = True

    def _refresh(self, *, force: bool) -> dict[str, tuple[str, Key]]:
        with self._lock:
            now = self._monotonic()
            if not force and self._keys is not None and now - self._tried_at < self._min_refresh:
                return self._keys  # another thread just refreshed
            self._tried_at = now
            try:
                document = self._fetch()
                keys = _parse(document)
            except KeysUnavailable:
                if self._keys is None:
                    raise
                log.warning("JWKS refresh failed; keeping the %d keys known", len(self._keys))
                return self._keys
            self.fetches += 1
            self._keys, self._loaded_at, self._stale = keys, now, False
            return keys


def _parse(document: Mapping[str, Any]) -> dict[str, tuple[str, Key]]:
    entries = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        raise KeysUnavailable("the JWKS has no keys list")
    keys: dict[str, tuple[str, Key]] = {}
    for entry in entries[:100]:
        if isinstance(entry, Mapping):
            loaded = jose.load_public(entry)
            if loaded is not None:
                kid, alg, key = loaded
                keys[kid] = (alg, key)
    return keys
