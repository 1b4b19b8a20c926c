"""A short-lived memory of remote verdicts, so a busy API does not ask keyhive per request.

Keys are keyed BLAKE2b digests (a random per-process key) of the credential, the
required scopes and the caller's IP: the cache never holds a plain secret. Entries live
``ttl`` seconds, so a revocation reaches this process within that time; the least
recently used go first once ``size`` is reached.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from hashlib import blake2b

from keyhive.core.credentials import Credential, PairCredential
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
        if size < 1 or ttl <= 0:
            raise ValueError("cache size and ttl must be positive")
        self.size, self.ttl = size, ttl
        self._key = secrets.token_bytes(32)
        self._monotonic = monotonic
        self._entries: OrderedDict[bytes, tuple[float, Verdict]] = OrderedDict()
        self._lock = threading.Lock()

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
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            deadline, verdict = found
            if deadline <= self._monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return verdict

    def put(self, key: bytes, verdict: Verdict) -> None:
        """Remember a verdict; a throttled one (it carries a wait) is never remembered."""
        if verdict.retry_after is not None:
            return
        with self._lock:
            self._entries[key] = (self._monotonic() + self.ttl, verdict)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
