"""One verification pipeline: every rule written once, for every caller.

Two stages. :meth:`Pipeline.start` answers whatever needs no I/O: a credential that
matched before, a malformed token, a wrong guess at an id this process has read. For the
rest it returns a :class:`Pending` check carrying what it computed (the digest, the parsed
credential, the normalised scopes); :meth:`Pipeline.finish` completes it, reading the
store once and running a slow hash only for a secret no digest covers yet. The sync
facade runs both stages inline; the async facade, the hot routes and the integrations
run ``finish`` in a worker pool.

A token, a client_id + secret pair and a key imported from another library are three
lookups (``s:<secret id>``, ``c:<client id>``, ``l:<legacy id>``, see
:mod:`keyhive.core.legacy_keys`) feeding the same match and the same judgement. A read
brings the client's owner's limits and the scopes of the secret's roles along, so the
judgement needs nothing more. The judgement (:meth:`_decide`) holds the rules in order;
a code other than NOT_FOUND is given only after the secret itself matched. Last, the
counters: the secret's named rate limits, its owner's, the secret's credits and the
owner's, spent together all or nothing (:meth:`_count`, through the meter), ``cost``
units each.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Protocol

from keyhive.core import validation as check
from keyhive.core.clock import Clock
from keyhive.core.credentials import Credential, PairCredential, TokenCredential
from keyhive.core.digests import Digester
from keyhive.core.errors import InvalidInput
from keyhive.core.hashing import Hashing
from keyhive.core.ipallow import ip_allowed
from keyhive.core.legacy_keys import legacy_id_of
from keyhive.core.model import (
    Client,
    Code,
    Secret,
    StoredSecret,
    Verification,
)
from keyhive.core.oauth import looks_like_jwt
from keyhive.core.quotas import MAX_COST, credit_period
from keyhive.core.scopes import MAX_SCOPES, allows, normalize_scopes
from keyhive.core.tokens import MAX_TOKEN_LENGTH, looks_like_token, parse_token
from keyhive.core.webhooks import Signal, iso
from keyhive.counters.protocols import (
    NOTHING,
    CacheEntry,
    CredentialCache,
    Known,
    Meter,
    MeterUnavailable,
    SignalSink,
    Throttle,
    UsageSink,
    make_entry,
)
from keyhive.service.metering import Plan
from keyhive.storage import Store

#: The longest secret a pair may present (article secrets are 44 characters).
MAX_PRESENTED: Final = 1024
_MAX_IP: Final = 64
_NOT_FOUND: Final = Verification(Code.NOT_FOUND)


class Stage(enum.Enum):
    """What a pending check still needs."""

    LOOKUP = "lookup"  # read the store, then match
    SLOW = "slow"  # records known: a slow hash, or a write after a match, decides
    COUNT = "count"  # matched and judged: spend rate limits and credits in Redis
    ACCESS_TOKEN = "access token"  # an OAuth JWT: fetch keys or read its secret's state


class TokenVerdict(Protocol):
    """What an access-token check answers (keyhive.service.oauth.verifier)."""

    @property
    def code(self) -> Code: ...

    @property
    def client(self) -> Client | None: ...

    @property
    def secret(self) -> Secret | None: ...

    @property
    def scopes(self) -> tuple[str, ...]: ...


class AccessTokens(Protocol):
    """Checks OAuth access tokens (JWTs) that keyhive signed; see docs/oauth.md."""

    def verify(self, token: str, scopes: Sequence[str] = ()) -> TokenVerdict: ...

    def verify_cached(self, token: str, scopes: Sequence[str] = ()) -> TokenVerdict | None: ...


@dataclass(frozen=True, slots=True)
class Presented:
    """A credential as the first stage read it; ``text`` and ``secret`` are secrets."""

    text: str = field(repr=False)  # what the digest covers: the token, or client_id NUL secret
    secret: str = field(repr=False)  # what the slow hash checks: the token, or the pair's secret
    key: bytes = field(repr=False)  # the digest of ``text`` under the newest server key
    lookup: str  # "s:<secret id>", "c:<client id>" or "l:<legacy id>"
    prefix: str | None  # the token's prefix; None for a pair's article secret or a legacy key
    expected_client: str | None  # for a pair: the client_id it names
    required: tuple[str, ...]
    ip: str | None
    throttle_keys: tuple[str, ...]
    epoch: int  # the cache's epoch before anything was read
    cost: int = 1


@dataclass(frozen=True, slots=True)
class Pending:
    """A verification the first stage could not finish without I/O or a slow hash.

    ``suspect`` marks a check whose id or address keeps failing: the async runner sends
    it to a narrow lane, so a guessing flood cannot occupy every worker.
    """

    stage: Stage
    presented: Presented | None = None
    known: Known | None = None
    entry: CacheEntry | None = None  # for COUNT: the matched and judged secret
    cost: int = 1
    suspect: bool = False


class Pipeline:
    """Answers "may this credential pass?" for the KeyHive facades."""

    def __init__(
        self,
        *,
        store: Store,
        hashing: Hashing,
        digester: Digester,
        store_digests: bool,
        clock: Clock,
        cache: CredentialCache | None,
        throttle: Throttle | None,
        meter: Meter,
        usage: UsageSink,
        signals: SignalSink | None = None,
        credits_low: float = 0.1,
    ) -> None:
        self.store = store
        self.hashing = hashing
        self.digester = digester
        self._digest = digester.digest  # a bound method: the cheapest call there is
        #: Whether digests are stored and trusted (the server key outlives this process).
        self.store_digests = store_digests
        self.clock = clock
        self.cache = cache
        self._throttle = throttle
        self._meter = meter
        self._usage = usage
        self._signals = signals
        self._credits_low = credits_low
        #: A stored digest nobody's token makes: an id nobody holds is checked against it
        #: the way a real secret's digest is (parsed, then compared).
        self._dummy = digester.stored(digester("keyhive dummy credential"))
        #: Builds the access-token checker on the first JWT seen (None: JWTs are refused).
        self.access_tokens: Callable[[], AccessTokens | None] | None = None
        self._tokens: AccessTokens | None = None
        self._tokens_tried = False
        self._tokens_lock = threading.Lock()

    # -- first stage: no I/O ---------------------------------------------------------------
    def start(
        self,
        credential: Credential,
        scopes: Sequence[str] = (),
        *,
        ip: str | None = None,
        cost: int = 1,
    ) -> Verification | Pending:
        """The answer if it needs no I/O, else the pending check for :meth:`finish`.

        ``cost`` (0 to MAX_COST) is what the verification spends from the secret's and
        its owner's rate limits and credits; anything else answers NOT_FOUND, like
        scopes that are not scopes. It is checked where it is spent (a secret without
        limits spends nothing), so the unmetered path pays nothing for it.
        """
        if type(credential) is TokenCredential:
            return self.start_token(credential.token, scopes, ip, cost)
        required = _required(scopes) if scopes else ()
        if required is None:
            return _NOT_FOUND
        if type(credential) is PairCredential:
            return self._start_pair(credential.client_id, credential.secret, required, ip, cost)
        return _NOT_FOUND

    def start_token(
        self, token: object, scopes: Sequence[str] = (), ip: str | None = None, cost: int = 1
    ) -> Verification | Pending:
        """:meth:`start` for a token. A repeat caller is answered in the first lines: this
        is the path of nearly every request an API serves."""
        cache = self.cache
        key = None
        if cache is not None and type(token) is str and len(token) <= MAX_TOKEN_LENGTH:
            key = self._digest(token)
            entry = cache.get(key)
            if entry is not None:
                required = _required(scopes) if scopes else ()
                if required is None:
                    return _NOT_FOUND
                return self._decide(entry, required, ip, cost)
        return self._start_uncached(token, scopes, ip, cost, key)

    def _start_uncached(
        self, token: object, scopes: Sequence[str], ip: str | None, cost: int, key: bytes | None
    ) -> Verification | Pending:
        """A token the cache did not answer (``key``: its digest, if already taken)."""
        required = _required(scopes) if scopes else ()
        if required is None:
            return _NOT_FOUND
        if self.access_tokens is not None and looks_like_jwt(token):
            return self._start_access_token(token, required)  # type: ignore[arg-type]
        return self._start_token(token, None, required, ip, cost, key)

    def verify_token(
        self, token: object, scopes: Sequence[str] = (), ip: str | None = None, cost: int = 1
    ) -> Verification:
        """Both stages inline for a token (the sync facade's ``verify``), a repeat caller
        answered in the first lines, like :meth:`start_token` does."""
        cache = self.cache
        key = None
        if cache is not None and type(token) is str and len(token) <= MAX_TOKEN_LENGTH:
            key = self._digest(token)
            entry = cache.get(key)
            if entry is not None:
                required = _required(scopes) if scopes else ()
                if required is None:
                    return _NOT_FOUND
                # blocking: never pending (no typing.cast: a call on every cache hit)
                return self._decide(entry, required, ip, cost, blocking=True)  # type: ignore[return-value]
        result = self._start_uncached(token, scopes, ip, cost, key)  # digest taken once
        return result if isinstance(result, Verification) else self.finish(result)

    def _start_access_token(self, token: str, required: tuple[str, ...]) -> Verification | Pending:
        """An OAuth access token: its signature, claims and secret decide (no digest)."""
        checker = self._tokens
        if self._tokens_tried and checker is None:
            return _NOT_FOUND
        found = checker.verify_cached(token, required) if checker is not None else None
        if found is None:  # keys to fetch, a secret to read, or the checker to build
            presented = Presented(
                text=token,
                secret=token,
                key=b"",
                lookup="j:",
                prefix=None,
                expected_client=None,
                required=required,
                ip=None,
                throttle_keys=(),
                epoch=0,
            )
            return Pending(Stage.ACCESS_TOKEN, presented)
        return self._token_answer(found)

    def _access_tokens(self) -> AccessTokens | None:
        if not self._tokens_tried and self.access_tokens is not None:
            with self._tokens_lock:
                if not self._tokens_tried:
                    self._tokens = self.access_tokens()
                    self._tokens_tried = True
        return self._tokens

    def _token_answer(self, found: TokenVerdict) -> Verification:
        """An access token's verdict as a Verification, counted like a secret's use."""
        secret, client = found.secret, found.client
        if secret is None or client is None:  # not a token of ours, or no longer anyone's
            return _NOT_FOUND
        self._usage.add(secret.secret_id, self.clock.now(), found.code)
        return Verification(found.code, client, secret, granted=found.scopes)

    def _start_token(
        self,
        token: object,
        expected_client: str | None,
        required: tuple[str, ...],
        ip: str | None,
        cost: int,
        key: bytes | None = None,
    ) -> Verification | Pending:
        if type(token) is not str or len(token) > MAX_TOKEN_LENGTH:
            return _NOT_FOUND
        cache = self.cache
        epoch = cache.epoch if cache is not None else 0
        if key is not None:
            cache = None  # the caller looked its answer up already
        else:
            key = self._digest(token)
        if cache is not None:
            entry = cache.get(key)
            if entry is not None:
                if expected_client is not None and entry.client.client_id != expected_client:
                    return _NOT_FOUND  # a token presented with another client's id
                return self._decide(entry, required, ip, cost)
        try:
            parsed = parse_token(token)
        except InvalidInput:
            return self._start_legacy(token, key, expected_client, required, ip, cost, epoch)
        presented = Presented(
            text=token,
            secret=token,
            key=key,
            lookup=f"s:{parsed.secret_id}",
            prefix=parsed.prefix,
            expected_client=expected_client,
            required=required,
            ip=ip,
            throttle_keys=_throttle_keys(f"id:{parsed.secret_id}", ip),
            epoch=epoch,
            cost=cost,
        )
        return self._known_or_pending(presented)

    def _start_legacy(
        self,
        token: str,
        key: bytes,
        expected_client: str | None,
        required: tuple[str, ...],
        ip: str | None,
        cost: int,
        epoch: int,
    ) -> Verification | Pending:
        """A key in another library's shape (imported keys): looked up by its prefix."""
        legacy = legacy_id_of(token) if expected_client is None else None
        if legacy is None:
            return _NOT_FOUND
        presented = Presented(
            text=token,
            secret=token,
            key=key,
            lookup=f"l:{legacy}",
            prefix=None,
            expected_client=None,
            required=required,
            ip=ip,
            throttle_keys=_throttle_keys(f"id:{legacy}", ip),
            epoch=epoch,
            cost=cost,
        )
        return self._known_or_pending(presented)

    def _start_pair(
        self,
        client_id: object,
        secret: object,
        required: tuple[str, ...],
        ip: str | None,
        cost: int,
    ) -> Verification | Pending:
        if not (type(client_id) is str and type(secret) is str):
            return _NOT_FOUND
        if not (0 < len(client_id) <= check.MAX_ID and 0 < len(secret) <= MAX_PRESENTED):
            return _NOT_FOUND
        if not (_encodable(client_id) and _encodable(secret)):
            return _NOT_FOUND
        if looks_like_token(secret):
            return self._start_token(secret, client_id, required, ip, cost)
        cache = self.cache
        epoch = cache.epoch if cache is not None else 0
        text = f"{client_id}\0{secret}"
        key = self._digest(text)
        if cache is not None:
            entry = cache.get(key)
            if entry is not None:  # the digest covers the client_id: no other client's
                return self._decide(entry, required, ip, cost)
        presented = Presented(
            text=text,
            secret=secret,
            key=key,
            lookup=f"c:{client_id}",
            prefix=None,
            expected_client=client_id,
            required=required,
            ip=ip,
            throttle_keys=_throttle_keys(f"client:{client_id}", ip),
            epoch=epoch,
            cost=cost,
        )
        return self._known_or_pending(presented)

    def _known_or_pending(self, presented: Presented) -> Verification | Pending:
        known = self.cache.record(presented.lookup) if self.cache is not None else None
        if known is None:
            return Pending(Stage.LOOKUP, presented, suspect=self._suspect(presented))
        return self._match(presented, known, blocking=False)

    # -- second stage: the store, slow hashes, remote counters -----------------------------
    def finish(self, pending: Pending) -> Verification:
        """Complete a pending check (blocking: may read the store and run a slow hash)."""
        if pending.stage is Stage.COUNT:
            assert pending.entry is not None
            return self._count(pending.entry, pending.cost, self.clock.now())
        presented, known = pending.presented, pending.known
        assert presented is not None
        if pending.stage is Stage.ACCESS_TOKEN:
            checker = self._access_tokens()
            if checker is None:
                return _NOT_FOUND
            return self._token_answer(checker.verify(presented.text, presented.required))
        if known is None:
            presented, known = self._read_and_remember(presented)
        result = self._match(presented, known, blocking=True)
        assert isinstance(result, Verification)
        return result

    def read_now(self, pending: Pending) -> Verification | Pending:
        """The store read of a LOOKUP pending check, without anything that blocks: the
        answer when the digest decides, else what is left (a slow hash, a write) pending.
        For a store whose reads are local (:attr:`Store.local_reads`), on the event loop."""
        assert pending.stage is Stage.LOOKUP
        assert pending.presented is not None
        presented, known = self._read_and_remember(pending.presented)
        return self._match(presented, known, blocking=False)

    def _read_and_remember(self, presented: Presented) -> tuple[Presented, Known]:
        """Read the lookup and remember it; ``presented`` carries the cache epoch the read
        began in, so an invalidation during the read is not undone by the answer."""
        cache = self.cache
        epoch = cache.epoch if cache is not None else 0
        known = self._read(presented)
        if cache is not None:
            cache.put_record(presented.lookup, known, epoch=epoch)
        if presented.epoch != epoch:  # rebuilt only when something was evicted meanwhile
            presented = dataclasses.replace(presented, epoch=epoch)
        return presented, known

    def verify(
        self,
        credential: Credential,
        scopes: Sequence[str] = (),
        *,
        ip: str | None = None,
        cost: int = 1,
    ) -> Verification:
        """Both stages inline (the sync facade)."""
        result = self.start(credential, scopes, ip=ip, cost=cost)
        return result if isinstance(result, Verification) else self.finish(result)

    def _read(self, presented: Presented) -> Known:
        """What the store holds for the lookup, with the client's owner's limits and the
        scopes of the candidates' roles: one read (the same work for an id nobody holds),
        remembered by the cache."""
        kind, ident = presented.lookup[0], presented.lookup[2:]
        record = self.store.read_lookup(kind, ident)
        client = record.client
        if client is None or (kind != "c" and not record.secrets):
            return NOTHING
        owner = record.owner
        roles = {name: role.scopes for name, role in record.roles.items()}
        return Known(
            client, tuple(record.secrets), owner if owner and owner.metered else None, roles
        )

    # -- matching ----------------------------------------------------------------------------
    def _match(
        self, presented: Presented, known: Known, *, blocking: bool
    ) -> Verification | Pending:
        """Find the candidate the credential matches: by digest, else by its slow hash."""
        undigested: list[StoredSecret] = []
        candidates = [c for c in known.candidates if c.secret.prefix == presented.prefix]
        for stored in candidates:
            found = self._digest_matches(stored, presented)
            if found:
                return self._matched(presented, stored, known, blocking=blocking)
            if found is None:
                undigested.append(stored)
        if not undigested and (candidates or self.store_digests):
            # A wrong secret, or an id nobody holds: the same digest and compare either way.
            if not candidates:
                self.digester.matches(self._dummy, presented.text, presented.key)
            return self._failed(presented)
        if not blocking:
            return Pending(Stage.SLOW, presented, known, suspect=self._suspect(presented))
        for stored in undigested:
            if self.hashing.matches(stored.hash, presented.secret):
                return self._matched(presented, stored, known, blocking=True)
        if not candidates:
            self.hashing.dummy_verify(presented.secret)  # no digests: an unknown id costs a hash
        return self._failed(presented)

    def _digest_matches(self, stored: StoredSecret, presented: Presented) -> bool | None:
        """True or False when a digest decides; None when only the slow hash can."""
        if not self.store_digests or stored.digest is None:
            return None
        return self.digester.matches(stored.digest, presented.text, presented.key)

    def _matched(
        self, presented: Presented, stored: StoredSecret, known: Known, *, blocking: bool
    ) -> Verification | Pending:
        """The credential is this secret's: bring its record up to date, remember, judge."""
        client = known.client
        if client is None:  # pragma: no cover - foreign keys prevent it
            return _NOT_FOUND
        if self._needs_write(stored):
            if not blocking:
                only = Known(client, (stored,), known.owner, known.roles)
                return Pending(Stage.SLOW, presented, only)
            self._upgrade(presented, stored, known)
        expected = presented.expected_client
        if expected is not None and client.client_id != expected:
            return _NOT_FOUND  # a token presented with another client's id
        secret = stored.secret
        granted = _granted(secret, known.roles)
        if self.cache is not None:
            entry = self.cache.put(
                presented.key,
                secret,
                client,
                epoch=presented.epoch,
                granted=granted,
                owner=known.owner,
            )
        else:
            entry = make_entry(secret, client, granted, known.owner)
        return self._decide(
            entry, presented.required, presented.ip, presented.cost, blocking=blocking
        )

    def _needs_write(self, stored: StoredSecret) -> bool:
        """After a match: a digest to add or renew, or a hash string to re-make."""
        if self.store_digests and (
            stored.digest is None or not self.digester.is_current(stored.digest)
        ):
            return True
        return self.hashing.needs_rehash(stored.hash)

    def _upgrade(self, presented: Presented, stored: StoredSecret, known: Known) -> None:
        """Store the digest under the newest key and re-hash with the current hasher."""
        secret_id = stored.secret.secret_id
        updated = stored
        if self.store_digests and (
            stored.digest is None or not self.digester.is_current(stored.digest)
        ):
            digest = self.digester.stored(presented.key)
            if self.store.set_digest(secret_id, stored.digest, digest):
                updated = dataclasses.replace(updated, digest=digest)
        if self.hashing.needs_rehash(stored.hash):
            new_hash = self.hashing.hash(presented.secret)
            if self.store.replace_hash(secret_id, stored.hash, new_hash):
                updated = dataclasses.replace(updated, hash=new_hash)
        if updated is not stored and self.cache is not None:
            candidates = tuple(updated if c is stored else c for c in known.candidates)
            self.cache.put_record(
                presented.lookup,
                Known(known.client, candidates, known.owner, known.roles),
                epoch=presented.epoch,
            )

    # -- failures ----------------------------------------------------------------------------
    def _suspect(self, presented: Presented) -> bool:
        return self._wait(presented.throttle_keys) is not None

    def _wait(self, keys: tuple[str, ...]) -> float | None:
        throttle = self._throttle
        if throttle is None:
            return None
        for key in keys:
            wait = throttle.retry_after(key)
            if wait is not None:
                return wait
        return None

    def _failed(self, presented: Presented) -> Verification:
        """NOT_FOUND; once an id or address keeps failing, with how long it is slowed down.

        The throttle never refuses a credential: a correct one matched before it was
        asked. It only marks failures, so that the hot routes answer them late.
        """
        throttle = self._throttle
        wait = throttle.fail(presented.throttle_keys) if throttle is not None else None
        return _NOT_FOUND if wait is None else Verification(Code.NOT_FOUND, retry_after=wait)

    # -- judgement ---------------------------------------------------------------------------
    def _decide(
        self,
        entry: CacheEntry,
        required: tuple[str, ...],
        ip: str | None,
        cost: int,
        *,
        blocking: bool = False,
    ) -> Verification | Pending:
        """The rules for a matched secret, in order: revocation, expiry, client state, the
        caller's address, scopes (its own and its roles'), then the counters (a refused
        request spends nothing).

        The refusals are written out here rather than in a helper: this runs for every
        request an API serves, and a call costs more than all of the checks. A new rule
        is one more ``if`` in its place.
        """
        secret, client = entry.secret, entry.client
        now = self.clock.now()
        if secret.revoked_at is not None and secret.revoked_at <= now:
            return self._refused(Code.REVOKED, entry, now)
        if secret.expires_at is not None and secret.expires_at <= now:
            return self._refused(Code.EXPIRED, entry, now)
        if not client.enabled:
            return self._refused(Code.DISABLED, entry, now)
        if secret.allowed_ips and not ip_allowed(secret.allowed_ips, ip):
            return self._refused(Code.IP_NOT_ALLOWED, entry, now)
        if required and not _permits(entry.granted, required):
            return self._refused(Code.INSUFFICIENT_SCOPE, entry, now)
        if not entry.metered:
            self._usage.add(secret.secret_id, now)
            return entry.valid
        if not (type(cost) is int and 0 <= cost <= MAX_COST):
            return _NOT_FOUND
        if self._meter.blocking and not blocking:
            return Pending(Stage.COUNT, entry=entry, cost=cost)
        return self._count(entry, cost, now)

    def _refused(self, code: Code, entry: CacheEntry, now: datetime) -> Verification:
        """A matched secret refused by a rule, counted in its usage."""
        self._usage.add(entry.secret.secret_id, now, code)
        return Verification(code, entry.client, entry.secret, granted=entry.valid.granted)

    def _count(self, entry: CacheEntry, cost: int, now: datetime) -> Verification:
        """Spend ``cost`` from every limit of the secret and its owner, all or nothing."""
        plan = Plan(entry, now)
        try:
            metered = self._meter.spend(plan.windows, plan.allowances, cost)
        except MeterUnavailable:
            # Credits are a budget: when their counters cannot be reached, refuse (fail
            # closed). The meter logs the outage once; this path runs per request.
            return Verification(
                Code.USAGE_EXCEEDED,
                entry.client,
                entry.secret,
                retry_after=1.0,
                granted=entry.valid.granted,
            )
        answer = plan.answer(metered, self._usage)
        if self._signals is not None:
            self._signal(entry, answer, now)
        return answer

    # -- signals for webhooks: reported to a buffer, never written here -----------------------
    def _signal(self, entry: CacheEntry, answer: Verification, now: datetime) -> None:
        """``ratelimit.exceeded`` (once per secret and window) and ``credits.low`` (once per
        secret and credit period), from the secret's own limits."""
        assert self._signals is not None
        secret, client = entry.secret, entry.client
        limited = answer.limited_by
        if answer.code is Code.RATE_LIMITED and limited is not None and limited.holder == "secret":
            rate = next((r for r in secret.rate_limits if r.name == limited.name), None)
            if rate is not None:
                index = int(now.timestamp()) // rate.window
                start = datetime.fromtimestamp(index * rate.window, UTC)
                data = {
                    "secret_id": secret.secret_id,
                    "client_id": client.client_id,
                    "limit": rate.limit,
                    "name": rate.name,
                    "window_seconds": rate.window,
                    "window_start": iso(start),
                }
                period = f"{rate.name}:{rate.window}s:{index}"
                self._signals.report(
                    Signal("ratelimit.exceeded", secret.secret_id, period, now, data)
                )
        own = next((c for c in answer.credits if c.holder == "secret"), None)
        if own is not None and own.remaining < own.allowance * self._credits_low:
            data = {
                "secret_id": secret.secret_id,
                "client_id": client.client_id,
                "credits": own.allowance,
                "remaining": own.remaining,
                "refill": secret.refill,
            }
            period = credit_period(secret.refill, now, secret.credits_set_at)
            self._signals.report(Signal("credits.low", secret.secret_id, period, now, data))


def _granted(secret: Secret, roles: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The secret's own scopes and those of its roles (a role gone grants nothing)."""
    if not secret.roles:
        return secret.scopes
    extra = [scope for role in secret.roles for scope in roles.get(role, ())]
    return tuple(sorted(set(secret.scopes).union(extra)))


def _throttle_keys(ident: str, ip: str | None) -> tuple[str, ...]:
    if ip and type(ip) is str and len(ip) <= _MAX_IP:
        return (ident, f"ip:{ip}")
    return (ident,)


@functools.lru_cache(maxsize=1024)
def _permits(granted: tuple[str, ...], required: tuple[str, ...]) -> bool:
    """Scope matching, memoised: a service sees the same few grant/requirement pairs."""
    return allows(granted, required)


@functools.lru_cache(maxsize=1024)
def _normalized(scopes: tuple[str, ...]) -> tuple[str, ...]:
    return normalize_scopes(scopes)


def _required(scopes: object) -> tuple[str, ...] | None:
    """Required scopes, validated and memoised; None when they are not scopes at all."""
    if not scopes:
        return ()
    if isinstance(scopes, str):
        scopes = (scopes,)
    elif not isinstance(scopes, (list, tuple)) or len(scopes) > MAX_SCOPES:
        return None  # not scopes, or more than any request could need (a bounded memo)
    try:
        return _normalized(tuple(scopes))
    except (TypeError, InvalidInput):
        return None


def _encodable(text: str) -> bool:
    """Whether ``text`` is valid UTF-8 material (no lone surrogates a driver would choke on)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
