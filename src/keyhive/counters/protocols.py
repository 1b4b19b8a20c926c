"""What the service layer needs from layer 2 besides the Store: one protocol per concept.

Each has a memory implementation and, where many nodes must agree, a Redis one; the
factory (:mod:`keyhive.counters.factory`) picks them from URLs. The service imports these
protocols, never a concrete class.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from keyhive.core.model import Client, Code, RateLimitStatus, Secret, StoredSecret, Verification
from keyhive.core.quotas import RateLimit
from keyhive.core.webhooks import Signal
from keyhive.storage import Usage

Evict = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A credential that matched: its secret, its client, and the VALID answer built once."""

    secret: Secret
    client: Client
    valid: Verification


@dataclass(frozen=True, slots=True)
class Known:
    """What the store holds for one lookup; no client and no candidates: nothing.

    For a token the candidates are its one secret; for a pair, the client's secrets
    that are presented with a client_id (imported in the article's format).
    """

    client: Client | None
    candidates: tuple[StoredSecret, ...] = ()


NOTHING: Final = Known(None)


class CredentialCache(Protocol):
    """Answers by credential digest and store records by lookup (see counters/cache.py)."""

    epoch: int
    digest: Callable[[str], bytes]
    get: Callable[[bytes], CacheEntry | None]

    @property
    def hits(self) -> int: ...

    @property
    def misses(self) -> int: ...

    def __len__(self) -> int: ...

    def keys_snapshot(self) -> list[bytes]: ...

    def put(
        self, key: bytes, secret: Secret, client: Client, *, epoch: int | None = None
    ) -> CacheEntry: ...

    def record(self, lookup: str) -> Known | None: ...

    def put_record(self, lookup: str, known: Known, *, epoch: int | None = None) -> None: ...

    def evict_secret(self, secret_id: str) -> None: ...

    def evict_client(self, client_id: str) -> None: ...

    def forget_pairs(self, client_id: str) -> None: ...

    def clear(self) -> None: ...


class Throttle(Protocol):
    """Counts failures per key; says how long a key's failures are being slowed down."""

    def retry_after(self, key: str) -> float | None: ...

    def failed(self, key: str) -> None: ...


class UsageSink(Protocol):
    """Where verifications are counted, to be written to the store in batches."""

    def add(
        self,
        secret_id: str,
        when: datetime,
        code: Code = Code.VALID,
        credits_period: str | None = None,
        credits_used: int = 0,
    ) -> None: ...

    def pending(self) -> Mapping[str, Usage]: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class RateLimiter(Protocol):
    """Sliding-window rate limits; ``blocking`` when a hit is a network call."""

    blocking: bool

    def hit(self, key: str, rate: RateLimit) -> RateLimitStatus:
        """Count one verification for ``key`` if the window has room."""
        ...


class CreditCounter(Protocol):
    """Credits spent per period; ``blocking`` when a spend is a network call."""

    blocking: bool

    def spend(self, key: str, allowance: int, start: int, cost: int = 1) -> tuple[bool, int]:
        """Spend ``cost`` if ``used + cost <= allowance``; return (spent, used after)."""
        ...


class Invalidator(Protocol):
    """A channel that tells every node about a change at once (lower latency than polling)."""

    def publish(self, target_type: str, target_id: str) -> None:
        """Announce that a client or secret changed."""
        ...

    def start(self, evict: Evict, clear: Callable[[], None]) -> None:
        """Deliver others' announcements to ``evict``; call ``clear`` whenever messages may
        have been lost (after a reconnect)."""
        ...

    def stop(self) -> None: ...


class ChangeFeed(Protocol):
    """Follows the shared database for changes other processes made."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class SignalSink(Protocol):
    """Where verification reports webhook signals, to be written to the outbox in batches."""

    def report(self, signal: Signal) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...
