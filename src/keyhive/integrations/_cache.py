"""A short-lived memory of remote verdicts, so a busy API does not ask keyhive per request.

Keys are keyed BLAKE2b digests (a random per-process key) of the credential, the
required scopes and the caller's IP: the cache never holds a plain secret. Entries live
``ttl`` seconds, so a revocation reaches this process within that time; the least
recently used go first once ``size`` entries or ``max_bytes`` (an estimate of what the
verdicts weigh: a principal carries up to 16 KiB of metadata) is reached (the one TTL
cache, counters/ttl.py).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Sequence
from hashlib import blake2b
from typing import Final

from keyhive.core.credentials import Credential, PairCredential
from keyhive.counters.ttl import TTLCache
from keyhive.integrations._principal import Verdict

#: What one entry costs besides its verdict's text: the key, the entry, the objects.
_OVERHEAD: Final = 512
MAX_BYTES: Final = 16 * 1024 * 1024


def weigh(key: bytes, verdict: Verdict) -> int:
    """An estimate of an entry's bytes: fixed overhead plus the text the verdict holds."""
    principal = verdict.principal
    if principal is None:
        return _OVERHEAD
    text = len(principal.client_id) + len(principal.secret_id) + len(principal.name or "")
    text += len(principal.owner or "") + sum(len(s) for s in principal.scopes)
    if principal.metadata:
        text += len(json.dumps(principal.metadata, default=str))
    return _OVERHEAD + 2 * text  # str objects hold about two bytes per character or more


class VerdictCache:
    """A bounded LRU of verdicts with a time-to-live; safe to share between threads."""

    def __init__(
        self,
        size: int = 10_000,
        ttl: float = 5.0,
        *,
        max_bytes: int = MAX_BYTES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: TTLCache[bytes, Verdict] = TTLCache(
            size, ttl, max_bytes=max_bytes, weigh=weigh, monotonic=monotonic
        )
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
