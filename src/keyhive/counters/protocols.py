"""What the service layer needs from layer 2 besides the Store: one protocol per concept.

Each has a memory implementation and, where many nodes must agree, a Redis one; the
factory (:mod:`keyhive.counters.factory`) picks them from URLs. The service imports these
protocols, never a concrete class.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Protocol

from keyhive.core.model import Client, Code, Owner, Secret, StoredSecret, Verification
from keyhive.core.webhooks import Signal
from keyhive.storage import Usage

Evict = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A credential that matched: its secret, its client, and the VALID answer built once.

    ``granted`` is the secret's own scopes plus its roles'; ``owner`` the client's owner's
    limits (None when it has none); ``metered`` whether a verification spends counters.
    """

    secret: Secret
    client: Client
    valid: Verification
    granted: tuple[str, ...] = ()
    owner: Owner | None = None
    metered: bool = False


def make_entry(
    secret: Secret,
    client: Client,
    granted: tuple[str, ...] | None = None,
    owner: Owner | None = None,
) -> CacheEntry:
    """The answer for a matched secret, built once: the VALID verification included."""
    scopes = secret.scopes if granted is None else granted
    valid = Verification(
        Code.VALID, client, secret, granted=None if scopes == secret.scopes else scopes
    )
    metered = secret.metered or (owner is not None and owner.metered)
    return CacheEntry(secret, client, valid, scopes, owner, metered)


@dataclass(frozen=True, slots=True)
class Known:
    """What the store holds for one lookup; no client and no candidates: nothing.

    For a token the candidates are its one secret; for a pair, the client's secrets
    that are presented with a client_id (imported in the article's format); for an
    imported key of another library, that key. ``owner`` holds the client's owner's
    limits (None: none), ``roles`` the scopes of the roles the candidates hold, so that
    judging a credential needs no further read.
    """

    client: Client | None
    candidates: tuple[StoredSecret, ...] = ()
    owner: Owner | None = None
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


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
        self,
        key: bytes,
        secret: Secret,
        client: Client,
        *,
        epoch: int | None = None,
        granted: tuple[str, ...] | None = None,
        owner: Owner | None = None,
    ) -> CacheEntry: ...

    def record(self, lookup: str) -> Known | None: ...

    def put_record(self, lookup: str, known: Known, *, epoch: int | None = None) -> None: ...

    def evict_secret(self, secret_id: str) -> None: ...

    def evict_client(self, client_id: str) -> None: ...

    def forget_pairs(self, client_id: str) -> None: ...

    def evict_owner(self, owner: str) -> None: ...

    def forget_legacy(self, legacy_id: str) -> None: ...

    def clear(self) -> None: ...


class Throttle(Protocol):
    """Counts failures per key; says how long a key's failures are being slowed down."""

    def retry_after(self, key: str) -> float | None: ...

    def fail(self, keys: tuple[str, ...]) -> float | None:
        """Count a failure for each key; the wait the first throttled one was under."""
        ...


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

    def add_owner_credits(self, owner: str, period: str, used: int) -> None:
        """Note what an owner's credit counter had spent, to be recorded in the store."""
        ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Window:
    """A sliding window to spend from: at most ``limit`` units in any ``window`` seconds."""

    key: str
    limit: int
    window: int


@dataclass(frozen=True, slots=True)
class Allowance:
    """A credit counter to spend from; a counter not seen yet starts at ``start`` (what
    the database recorded), so a restart or a new node continues the count."""

    key: str
    allowance: int
    start: int


@dataclass(frozen=True, slots=True)
class Metered:
    """The outcome of one spend.

    ``refused`` is the index of the first counter without room (windows first, then
    allowances), or None when everything was spent. ``counts`` holds each window's
    units in the window and ``resets`` when (epoch seconds) its oldest unit leaves it;
    on a refusal, the refusing window's reset is when this cost would fit. ``used``
    holds each allowance's units spent. Figures are after the spend, or as they stand
    when refused (a refusal spends nothing).
    """

    refused: int | None
    now: float
    counts: tuple[int, ...] = ()
    resets: tuple[float, ...] = ()
    used: tuple[int, ...] = ()


class MeterUnavailable(Exception):
    """The shared counters cannot be reached and credits are involved: fail closed."""


class Meter(Protocol):
    """Rate-limit windows and credit counters, spent together all or nothing.

    ``blocking`` when a spend is a network call (Redis). Every counter of one spend is
    checked and spent atomically, so a request refused by one limit spends none of the
    others, and many nodes never over-admit.
    """

    blocking: bool

    def spend(
        self, windows: Sequence[Window], allowances: Sequence[Allowance], cost: int
    ) -> Metered:
        """Spend ``cost`` units from every counter if all have room, else nothing."""
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
