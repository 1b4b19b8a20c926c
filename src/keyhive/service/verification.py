"""Verification: the hot path from a presented credential to one Code.

Order of work, cheapest first: the cache (a keyed digest and a dict lookup), the
token's format and checksum, the failure throttle, then the store and the slow hash.
A code other than NOT_FOUND is given only after the secret itself matched; an
unknown id costs a dummy hash like a wrong secret.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from keyhive.core import validation as check
from keyhive.core.clock import Clock
from keyhive.core.credentials import Credential, PairCredential, TokenCredential
from keyhive.core.errors import InvalidInput
from keyhive.core.hashing import Hashing
from keyhive.core.ipallow import ip_allowed
from keyhive.core.model import Client, Code, Secret, StoredSecret, Verification
from keyhive.core.quotas import credit_period, period_end
from keyhive.core.scopes import allows, normalize_scopes
from keyhive.core.tokens import MAX_TOKEN_LENGTH, ParsedToken, looks_like_token, parse_token
from keyhive.counters.cache import VerificationCache
from keyhive.counters.credits import CreditCounter
from keyhive.counters.rate import RateLimiter
from keyhive.counters.throttle import FailureThrottle
from keyhive.counters.usage import UsageBuffer
from keyhive.storage import Store

_MAX_PRESENTED: Final = 1024
_NOT_FOUND: Final = Verification(Code.NOT_FOUND)
_VALID: Final = Code.VALID  # a module global: Code.VALID is a slow class-attribute lookup


class Verifier:
    """Answers "may this credential pass?"; owned by the KeyHive facade.

    ``remote_counters`` says that rate limits and credits live in Redis, so answers
    that spend them are not given on an event loop (:meth:`verify_cached`).
    """

    def __init__(
        self,
        *,
        store: Store,
        hashing: Hashing,
        clock: Clock,
        cache: VerificationCache | None,
        throttle: FailureThrottle | None,
        rate: RateLimiter,
        credits: CreditCounter,
        usage: UsageBuffer,
        remote_counters: bool,
    ) -> None:
        self.store = store
        self.hashing = hashing
        self.clock = clock
        self._cache = cache
        self._throttle = throttle
        self._rate = rate
        self._credits = credits
        self._usage = usage
        self._remote_counters = remote_counters

    def verify(
        self, token: str, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verification:
        """Check a secret token and the scopes a request needs; never raises on bad input.

        A credential seen before is answered from the cache (microseconds); a malformed
        token is answered NOT_FOUND before any storage access.
        """
        try:
            required = _required(scopes)
        except InvalidInput:
            return _NOT_FOUND
        cache = self._cache
        if cache is not None and type(token) is str and len(token) <= MAX_TOKEN_LENGTH:
            key = cache.digest(token)
            entry = cache.get(key)
            if entry is not None:
                return self._judge(entry.secret, entry.client, required, ip, entry.valid)
        else:
            key = None
        try:
            parsed = parse_token(token)
        except InvalidInput:
            return _NOT_FOUND
        return self._verify_token(parsed, required, ip, key)

    def verify_cached(
        self, credential: Credential, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verification | None:
        """The answer when it needs neither a hash nor I/O, else None.

        That is a cache hit, a malformed token, or an id or address whose failures are
        being throttled. The async twin and the server call it on the event loop and
        send only the rest to their workers, so a flood of wrong secrets for one id
        does not occupy the thread pool.
        """
        cache = self._cache
        if cache is None:
            return None
        if isinstance(credential, PairCredential):
            if looks_like_token(credential.secret):
                found = self.verify_cached(TokenCredential(credential.secret), scopes, ip=ip)
                if found is not None and found.client_id != credential.client_id:
                    return _NOT_FOUND
                return found
            text = f"{credential.client_id}\0{credential.secret}"
        else:
            text = credential.token
        if type(text) is not str or len(text) > _MAX_PRESENTED + check.MAX_ID + 1:
            return None
        key = cache.digest(text)
        entry = cache.get(key)
        if entry is None:
            if cache.stale(key) is not None:
                return None  # a known credential past its TTL: re-read it off the loop
            return self._refused_early(credential, ip)
        secret = entry.secret
        if self._remote_counters and (secret.rate_limit is not None or secret.credits is not None):
            return None  # its counters live in Redis: a network call, not for the event loop
        try:
            required = _required(scopes)
        except InvalidInput:
            return _NOT_FOUND
        return self._judge(entry.secret, entry.client, required, ip, entry.valid)

    def _refused_early(self, credential: Credential, ip: str | None) -> Verification | None:
        """NOT_FOUND for what fails before any lookup: bad form, or throttled failures."""
        if isinstance(credential, PairCredential):
            return self._throttled(f"client:{credential.client_id}", ip)
        try:
            parsed = parse_token(credential.token)
        except InvalidInput:
            return _NOT_FOUND
        return self._throttled(f"id:{parsed.secret_id}", ip)

    def verify_credential(
        self, credential: Credential, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verification:
        """Check a credential read from request headers (see :mod:`keyhive.core.credentials`)."""
        if isinstance(credential, PairCredential):
            return self.verify_pair(credential.client_id, credential.secret, scopes, ip=ip)
        return self.verify(credential.token, scopes, ip=ip)

    def verify_pair(
        self, client_id: str, secret: str, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verification:
        """Check a client_id + secret pair (HTTP Basic): a token or an article-format secret."""
        if not (isinstance(client_id, str) and isinstance(secret, str)):
            return _NOT_FOUND
        if not (0 < len(client_id) <= check.MAX_ID and 0 < len(secret) <= _MAX_PRESENTED):
            return _NOT_FOUND
        if not (_encodable(client_id) and _encodable(secret)):
            return _NOT_FOUND
        try:
            required = _required(scopes)
        except InvalidInput:
            return _NOT_FOUND
        if looks_like_token(secret):
            result = self.verify(secret, required, ip=ip)
            return result if result.client_id == client_id else _NOT_FOUND
        cache = self._cache
        key = cache.digest(f"{client_id}\0{secret}") if cache is not None else None
        if cache is not None and key is not None:
            entry = cache.get(key)
            if entry is not None:
                return self._judge(entry.secret, entry.client, required, ip, entry.valid)
        known = self._revalidated(key, required, ip)
        if known is not None:
            return known
        throttled = self._throttled(f"client:{client_id}", ip)
        if throttled is not None:
            return throttled
        candidates = [s for s in self.store.list_secrets(client_id) if s.secret.prefix is None]
        for stored in candidates:
            if self.hashing.matches(stored.hash, secret):
                return self._matched(stored, secret, required, key, ip)
        if not candidates:
            self.hashing.dummy_verify(secret)
        self._failed(f"client:{client_id}", ip)
        return _NOT_FOUND

    def _verify_token(
        self, parsed: ParsedToken, required: tuple[str, ...], ip: str | None, key: bytes | None
    ) -> Verification:
        known = self._revalidated(key, required, ip)
        if known is not None:
            return known
        throttled = self._throttled(f"id:{parsed.secret_id}", ip)
        if throttled is not None:
            return throttled
        stored = self.store.get_secret(parsed.secret_id)
        if stored is None or stored.secret.prefix != parsed.prefix:
            self.hashing.dummy_verify(parsed.text)
        elif self.hashing.matches(stored.hash, parsed.text):
            return self._matched(stored, parsed.text, required, key, ip)
        self._failed(f"id:{parsed.secret_id}", ip)
        return _NOT_FOUND

    def _revalidated(
        self, key: bytes | None, required: tuple[str, ...], ip: str | None
    ) -> Verification | None:
        """For a credential whose cache entry outlived its TTL: re-read, don't re-hash."""
        if key is None or self._cache is None:
            return None
        old = self._cache.stale(key)
        if old is None:
            return None
        stored = self.store.get_secret(old.secret.secret_id)
        client = self.store.get_client(old.client.client_id) if stored is not None else None
        if stored is None or client is None or stored.secret.client_id != client.client_id:
            self.evict("secret", old.secret.secret_id)
            return _NOT_FOUND
        self._cache.put(key, stored.secret, client)
        return self._judge(stored.secret, client, required, ip)

    def _throttled(self, ident: str, ip: str | None) -> Verification | None:
        throttle = self._throttle
        if throttle is None:
            return None
        wait = throttle.retry_after(ident)
        if wait is None and ip:
            wait = throttle.retry_after(f"ip:{ip}")
        return None if wait is None else Verification(Code.NOT_FOUND, retry_after=wait)

    def _failed(self, ident: str, ip: str | None) -> None:
        if self._throttle is not None:
            self._throttle.failed(ident)
            if ip:
                self._throttle.failed(f"ip:{ip}")

    def _matched(
        self,
        stored: StoredSecret,
        presented: str,
        required: tuple[str, ...],
        key: bytes | None,
        ip: str | None,
    ) -> Verification:
        """The secret matched its hash: remember it, upgrade its hash, judge it."""
        client = self.store.get_client(stored.secret.client_id)
        if client is None:  # pragma: no cover - foreign keys prevent it
            return _NOT_FOUND
        if self._cache is not None and key is not None:
            self._cache.put(key, stored.secret, client)
        self._maybe_rehash(stored, presented)
        return self._judge(stored.secret, client, required, ip)

    def _judge(
        self,
        secret: Secret,
        client: Client,
        required: tuple[str, ...],
        ip: str | None,
        valid: Verification | None = None,
    ) -> Verification:
        """Decide for a matched secret: revocation, expiry, client state, caller address,
        scopes, then the counters (a refused request spends no rate or credit)."""
        now = self.clock.now()
        if secret.revoked_at is not None and secret.revoked_at <= now:
            return self._refused(Code.REVOKED, client, secret, now)
        if secret.expires_at is not None and secret.expires_at <= now:
            return self._refused(Code.EXPIRED, client, secret, now)
        if not client.enabled:
            return self._refused(Code.DISABLED, client, secret, now)
        if secret.allowed_ips and not ip_allowed(secret.allowed_ips, ip):
            return self._refused(Code.IP_NOT_ALLOWED, client, secret, now)
        if required and not _permits(secret.scopes, required):
            return self._refused(Code.INSUFFICIENT_SCOPE, client, secret, now)
        if secret.rate_limit is None and secret.credits is None:
            self._usage.add(secret.secret_id, now, _VALID)
            return valid or Verification(_VALID, client, secret)
        return self._count(secret, client, now)

    def _refused(self, code: Code, client: Client, secret: Secret, now: datetime) -> Verification:
        """A refusal of a matched secret, counted in its usage buckets."""
        self._usage.add(secret.secret_id, now, code)
        return Verification(code, client, secret)

    def _count(self, secret: Secret, client: Client, now: datetime) -> Verification:
        """Spend one rate-limit slot, then one credit; either may refuse."""
        status = None
        if secret.rate_limit is not None:
            status = self._rate.hit(secret.secret_id, secret.rate_limit)
            if not status.allowed:
                self._usage.add(secret.secret_id, now, Code.RATE_LIMITED)
                wait = max(0.0, status.reset - time.time())
                return Verification(
                    Code.RATE_LIMITED, client, secret, retry_after=wait, ratelimit=status
                )
        if secret.credits is None:
            self._usage.add(secret.secret_id, now, _VALID)
            return Verification(Code.VALID, client, secret, ratelimit=status)
        period = credit_period(secret.refill, now, secret.credits_set_at)
        start = secret.credits_used if secret.credits_period == period else 0
        try:
            spent, used = self._credits.spend(f"{secret.secret_id}:{period}", secret.credits, start)
        except Exception:
            # Credits are a budget: when their counter cannot be reached, refuse (fail
            # closed). The counter logs the outage once; this path runs per request.
            self._usage.add(secret.secret_id, now, Code.USAGE_EXCEEDED)
            return Verification(
                Code.USAGE_EXCEEDED,
                client,
                secret,
                retry_after=1.0,
                ratelimit=status,
                remaining=None,
            )
        if not spent:
            self._usage.add(secret.secret_id, now, Code.USAGE_EXCEEDED)
            ends = period_end(secret.refill, now)
            return Verification(
                Code.USAGE_EXCEEDED,
                client,
                secret,
                retry_after=(ends - now).total_seconds() if ends is not None else None,
                ratelimit=status,
                remaining=0,
            )
        self._usage.add(secret.secret_id, now, _VALID, period, used)
        return Verification(
            Code.VALID, client, secret, ratelimit=status, remaining=secret.credits - used
        )

    def _maybe_rehash(self, stored: StoredSecret, presented: str) -> None:
        if self.hashing.needs_rehash(stored.hash):
            self.store.replace_hash(
                stored.secret.secret_id, stored.hash, self.hashing.hash(presented)
            )

    def evict(self, target_type: str, target_id: str) -> None:
        """Forget cached answers for a client or secret this process changed."""
        if self._cache is None:
            return
        if target_type == "client":
            self._cache.evict_client(target_id)
        else:
            self._cache.evict_secret(target_id)

    def expire(self, target_type: str, target_id: str) -> None:
        """Distrust cached answers for a client or secret changed elsewhere (or maybe by us:
        the change feed cannot tell). Their next use re-reads the store, without a hash."""
        if self._cache is None:
            return
        if target_type == "client":
            self._cache.expire_client(target_id)
        else:
            self._cache.expire_secret(target_id)


@functools.lru_cache(maxsize=4096)
def _permits(granted: tuple[str, ...], required: tuple[str, ...]) -> bool:
    """Scope matching, memoised: a service sees the same few grant/requirement pairs."""
    return allows(granted, required)


@functools.lru_cache(maxsize=1024)
def _normalized(scopes: tuple[str, ...]) -> tuple[str, ...]:
    return normalize_scopes(scopes)


def _required(scopes: object) -> tuple[str, ...]:
    """Required scopes, validated; memoised because the same few sets recur on every request."""
    if not scopes:
        return ()
    if isinstance(scopes, str):
        scopes = (scopes,)
    elif not isinstance(scopes, (list, tuple)):
        raise InvalidInput("scopes must be a list of strings", field="scopes")
    try:
        return _normalized(tuple(scopes))
    except TypeError:
        raise InvalidInput("scopes must be a list of strings", field="scopes") from None


def _encodable(text: str) -> bool:
    """Whether ``text`` is valid UTF-8 material (no lone surrogates a driver would choke on)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
