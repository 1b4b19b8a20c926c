"""A short-lived memory of remote verdicts, so a busy API does not ask keyhive per request.

Keys are keyed BLAKE2b digests (a random per-process key) of the credential, the
required scopes and the caller's IP: the cache never holds a plain secret. Entries live
``ttl`` seconds, so a revocation reaches this process within that time; the least
recently used go first once ``size`` is reached (the one TTL cache, counters/ttl.py).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from hashlib import blake2b

from keyhive.core.credentials import Credential, PairCredential
from keyhive.counters.ttl import TTLCache
from keyhive.integrations._principal import Verdict


class VerdictCache:
    """A bounded LRU of verdicts with a time-to-live; safe to share between threads."""

    def __init__(
        self,
        size: int = 10_000,
        ttl: float = 5.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: TTLCache[bytes, Verdict] = TTLCache(size, ttl, monotonic=monotonic)
        self.size, self.ttl = size, ttl
        self._key = secrets.token_bytes(32)

    def key(self, credential: Credential, scopes: Sequence[str], ip: str | None) -> bytes:
        """The digest naming this question; a NUL separates parts no header can contain."""
        if isinstance(credential, PairCredential):
            text = f"pair\0{credential.client_id}\0{credential.secret}"
        else:
            text = f"token\0{credential.token}"
        text += "\0" + " ".join(sorted(set(scopes))) + "\0" + (ip or "")
        data = text.encode("utf-8", "surrogatepass")
        return blake2b(data, key=self._key, digest_size=32).digest()

    def get(self, key: bytes) -> Verdict | None:
        return self._entries.get(key)

    def put(self, key: bytes, verdict: Verdict) -> None:
        """Remember a verdict; a throttled one (it carries a wait) is never remembered."""
        if verdict.retry_after is None:
            self._entries.put(key, verdict)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
