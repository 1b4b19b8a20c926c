"""The KeyHive facade: clients, secrets, verification and the audit log over one Store.

Depends only on the Store protocol and the core; the backends come from a URL.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from keyhive import validation as check
from keyhive.clock import Clock, SystemClock
from keyhive.credentials import Credential, PairCredential, TokenCredential
from keyhive.durations import parse_duration
from keyhive.errors import (
    ClientNotFound,
    Conflict,
    InvalidInput,
    SecretNotFound,
)
from keyhive.hashing import Hashing, SeedScryptHasher
from keyhive.ipallow import ip_allowed, normalize_networks
from keyhive.limits.cache import VerificationCache
from keyhive.limits.changes import AuditPoller, Invalidator
from keyhive.limits.credits import CreditCounter, MemoryCredits, RedisCredits
from keyhive.limits.rate import LimitsRateLimiter, RateLimiter
from keyhive.limits.throttle import FailureThrottle
from keyhive.limits.usage import UsageBuffer
from keyhive.model import AuditEvent, Client, Code, Issued, Secret, StoredSecret, Verification
from keyhive.quotas import RateLimit, credit_period, period_end, validate_credits
from keyhive.scopes import allows, normalize_scopes
from keyhive.settings import Settings
from keyhive.storage import Store, open_store
from keyhive.tokens import (
    MAX_TOKEN_LENGTH,
    KeyFormat,
    ParsedToken,
    generate_key,
    is_secret_id,
    looks_like_token,
    make_token,
    parse_token,
    validate_prefix,
)

log = logging.getLogger(__name__)

ADMIN_SCOPE: Final = "keyhive:admin"
VERIFY_SCOPE: Final = "keyhive:verify"
ADMIN_OWNER: Final = "keyhive"
ADMIN_CLIENT_NAME: Final = "keyhive admin"
_ATTEMPTS: Final = 8
_MAX_PRESENTED: Final = 1024
_UNSET: Any = object()
_NOT_FOUND: Final = Verification(Code.NOT_FOUND)


class KeyHive:
    """Issue, store and verify API keys and secrets.

    ``KeyHive("sqlite:///./keyhive.db")`` is all a single node needs. Tests pass a
    ``clock`` to move time exactly, and ``Settings(hashing_profile="cheapest")``.
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        settings: Settings | None = None,
        store: Store | None = None,
        hashing: Hashing | None = None,
        clock: Clock | None = None,
        migrate: bool = True,
        usage_flush_interval: float = 5.0,
        cache_size: int = 100_000,
        cache_ttl: float = 60.0,
        watch_changes: bool = True,
        change_interval: float = 0.25,
        throttle: FailureThrottle | None = _UNSET,
        rate_limiter: RateLimiter | None = None,
        credit_counter: CreditCounter | None = None,
        invalidator: Invalidator | None = _UNSET,
    ) -> None:
        base = settings or Settings.from_env()
        self.settings = base.with_overrides(database_url=database_url)
        self.store: Store = store or open_store(self.settings.database_url)
        if migrate:
            self.store.migrate()
        self.hashing = hashing or self.settings.make_hashing()
        self.clock: Clock = clock or SystemClock()
        self.prefix = self.settings.token_prefix
        self._usage = UsageBuffer(self.store.record_usage, usage_flush_interval)
        self._seed = SeedScryptHasher()
        self._cache = VerificationCache(cache_size, cache_ttl) if cache_size > 0 else None
        self._throttle: FailureThrottle | None = (
            FailureThrottle() if throttle is _UNSET else throttle
        )
        self._rate = rate_limiter or _rate_limiter(self.settings.redis_url)
        self._credits = credit_counter or _credit_counter(self.settings.redis_url)
        self._remote_counters = bool(self.settings.redis_url)
        self._poller: AuditPoller | None = None
        if self._cache is not None and watch_changes:
            self._poller = AuditPoller(self.store, self._evict, interval=change_interval)
            self._poller.start()
        self._invalidator: Invalidator | None = (
            _invalidator(self.settings.redis_url) if invalidator is _UNSET else invalidator
        )
        if self._invalidator is not None and self._cache is not None and watch_changes:
            self._invalidator.start(self._evict, self._cache.clear)

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def cache(self) -> VerificationCache | None:
        """The verification cache (None when disabled with ``cache_size=0``)."""
        return self._cache

    def close(self) -> None:
        """Write pending usage counts and release the store."""
        if self._poller is not None:
            self._poller.stop()
        if self._invalidator is not None:
            self._invalidator.stop()
        self._usage.close()
        self.store.close()

    def flush(self) -> None:
        """Write pending usage counts now."""
        self._usage.flush()

    def __enter__(self) -> KeyHive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- clients -------------------------------------------------------------------------------
    def create_client(
        self,
        name: str,
        *,
        owner: str | None = None,
        metadata: dict[str, Any] | None = None,
        client_id: str | None = None,
        key_size: int = 32,
        key_format: KeyFormat | str = "base64",
        actor: str | None = None,
    ) -> Client:
        """Create a client with a random, unique client_id (or the given one, for imports)."""
        client = Client(
            client_id="",
            name=check.required_text(name, "name"),
            owner=check.text(owner, "owner", optional=True),
            metadata=check.metadata(metadata),
            enabled=True,
            created_at=self.clock.now(),
        )
        given = check.identifier(client_id, "client_id") if client_id is not None else None
        for _ in range(1 if given else _ATTEMPTS):
            client = dataclasses.replace(
                client, client_id=given or generate_key(key_size, key_format)
            )
            try:
                with self.store.transaction() as tx:
                    tx.insert_client(client)
                    tx.append_audit(self._event(actor, "client.create", client, None, client))
            except Conflict:
                if given:
                    raise Conflict(f"client_id already exists: {given}") from None
                continue
            return client
        raise Conflict("could not find a free client_id")  # pragma: no cover - 2**-256 odds

    def get_client(self, client_id: str) -> Client:
        client = self.store.get_client(check.identifier(client_id, "client_id"))
        if client is None:
            raise ClientNotFound(client_id)
        return client

    def list_clients(
        self, *, owner: str | None = None, limit: int = 100, after: str | None = None
    ) -> list[Client]:
        if type(limit) is not int or not 1 <= limit <= 1000:
            raise InvalidInput("limit must be from 1 to 1000", field="limit")
        return self.store.list_clients(
            owner=check.text(owner, "owner", optional=True),
            limit=limit,
            after=check.identifier(after, "after") if after is not None else None,
        )

    def update_client(
        self,
        client_id: str,
        *,
        name: str = _UNSET,
        owner: str | None = _UNSET,
        metadata: dict[str, Any] = _UNSET,
        actor: str | None = None,
    ) -> Client:
        """Change a client's name, owner or metadata."""
        before = self.get_client(client_id)
        after = before
        if name is not _UNSET:
            after = dataclasses.replace(after, name=check.required_text(name, "name"))
        if owner is not _UNSET:
            after = dataclasses.replace(after, owner=check.text(owner, "owner", optional=True))
        if metadata is not _UNSET:
            after = dataclasses.replace(after, metadata=check.metadata(metadata))
        return self._save_client(actor, "client.update", before, after)

    def disable_client(self, client_id: str, *, actor: str | None = None) -> Client:
        """Every secret of a disabled client answers DISABLED (once the secret matched)."""
        before = self.get_client(client_id)
        return self._save_client(
            actor, "client.disable", before, dataclasses.replace(before, enabled=False)
        )

    def enable_client(self, client_id: str, *, actor: str | None = None) -> Client:
        before = self.get_client(client_id)
        return self._save_client(
            actor, "client.enable", before, dataclasses.replace(before, enabled=True)
        )

    def _save_client(self, actor: str | None, action: str, before: Client, after: Client) -> Client:
        with self.store.transaction() as tx:
            tx.update_client(after)
            tx.append_audit(self._event(actor, action, after, before, after))
        self._changed("client", after.client_id)
        return after

    # -- secrets -------------------------------------------------------------------------------
    def issue_secret(
        self,
        client_id: str,
        *,
        scopes: Iterable[str] = (),
        name: str | None = None,
        expires_in: timedelta | str | None = None,
        expires_at: datetime | None = None,
        prefix: str | None = None,
        rate: str | None = None,
        credits: int | None = None,
        refill: str | None = None,
        allowed_ips: Iterable[str] = (),
        actor: str | None = None,
    ) -> Issued:
        """Issue a secret token; it is returned this once and stored only as a hash.

        ``rate`` (``100/minute``), ``credits`` (optionally refilled each ``day`` or
        ``month``) and ``allowed_ips`` (CIDRs) limit how it may be used. Returns after
        the write committed (on SQLite: synced to disk).
        """
        client = self.get_client(client_id)
        now = self.clock.now()
        checked_credits, checked_refill = validate_credits(credits, refill)
        limits = _Limits(
            rate_limit=RateLimit.parse(rate) if rate is not None else None,
            credits=checked_credits,
            refill=checked_refill,
            credits_set_at=now if checked_credits is not None else None,
            allowed_ips=normalize_networks(allowed_ips),
        )
        return self._issue(
            client,
            scopes=normalize_scopes(scopes),
            name=check.text(name, "name", optional=True),
            expires_at=self._expiry(now, expires_in, expires_at),
            prefix=validate_prefix(prefix) if prefix is not None else self.prefix,
            actor=actor,
            now=now,
            limits=limits,
        )

    def _issue(
        self,
        client: Client,
        *,
        scopes: tuple[str, ...],
        name: str | None,
        expires_at: datetime | None,
        prefix: str,
        actor: str | None,
        now: datetime,
        limits: _Limits,
        rotating: Secret | None = None,
        grace_ends: datetime | None = None,
    ) -> Issued:
        for _ in range(_ATTEMPTS):
            token = make_token(prefix)
            secret = Secret(
                secret_id=token.secret_id,
                client_id=client.client_id,
                name=name,
                scopes=scopes,
                prefix=prefix,
                created_at=now,
                expires_at=expires_at,
                rotated_from=rotating.secret_id if rotating else None,
                rate_limit=limits.rate_limit,
                credits=limits.credits,
                refill=limits.refill,
                credits_set_at=limits.credits_set_at,
                allowed_ips=limits.allowed_ips,
            )
            stored = StoredSecret(secret, self.hashing.hash(token.text))
            try:
                with self.store.transaction() as tx:
                    tx.insert_secret(stored)
                    if rotating is None:
                        tx.append_audit(self._event(actor, "secret.issue", secret, None, secret))
                    else:
                        old = dataclasses.replace(
                            rotating,
                            replaced_by=secret.secret_id,
                            revoked_at=_earliest(rotating.revoked_at, grace_ends),
                            revoked_reason=rotating.revoked_reason or "rotated",
                        )
                        tx.update_secret(old)
                        tx.append_audit(self._event(actor, "secret.rotate", old, rotating, old))
                        tx.append_audit(self._event(actor, "secret.issue", secret, None, secret))
            except Conflict:
                continue
            if rotating is not None:
                self._changed("secret", rotating.secret_id)
            return Issued(token.text, secret)
        raise Conflict("could not find a free secret_id")  # pragma: no cover - 62**-16 odds

    def import_secret(
        self,
        client_id: str,
        stored: str,
        *,
        scopes: Iterable[str] = (),
        name: str | None = None,
        actor: str | None = None,
    ) -> Secret:
        """Keep a secret hashed by the article's code (``<hex>.<salt>``) working.

        It is presented as client_id + secret (HTTP Basic or ``verify_pair``); after its
        first successful verification it is re-hashed with the current hasher.
        """
        if not isinstance(stored, str) or not self._seed.identifies(stored):
            raise InvalidInput(
                "stored must be the article's <128 hex>.<16 hex salt> string", field="stored"
            )
        client = self.get_client(client_id)
        now = self.clock.now()
        normalized = normalize_scopes(scopes)
        checked_name = check.text(name, "name", optional=True)
        for _ in range(_ATTEMPTS):
            secret = Secret(
                secret_id=make_token().secret_id,
                client_id=client.client_id,
                name=checked_name,
                scopes=normalized,
                prefix=None,
                created_at=now,
            )
            try:
                with self.store.transaction() as tx:
                    tx.insert_secret(StoredSecret(secret, stored))
                    tx.append_audit(self._event(actor, "secret.import", secret, None, secret))
            except Conflict:
                continue
            return secret
        raise Conflict("could not find a free secret_id")  # pragma: no cover

    def get_secret(self, secret_id: str) -> Secret:
        return self._stored(secret_id).secret

    def _stored(self, secret_id: str) -> StoredSecret:
        check.identifier(secret_id, "secret_id")
        stored = self.store.get_secret(secret_id) if is_secret_id(secret_id) else None
        if stored is None:
            raise SecretNotFound(secret_id)
        return stored

    def list_secrets(self, client_id: str) -> list[Secret]:
        self.get_client(client_id)
        return [s.secret for s in self.store.list_secrets(client_id)]

    def revoke(
        self, secret_id: str, *, reason: str | None = None, actor: str | None = None
    ) -> Secret:
        """Revoke now; the secret answers REVOKED from the next verification on."""
        before = self.get_secret(secret_id)
        now = self.clock.now()
        after = dataclasses.replace(
            before,
            revoked_at=now if not before.is_revoked(now) else before.revoked_at,
            revoked_reason=check.text(reason, "reason", limit=check.MAX_REASON, optional=True)
            or before.revoked_reason
            or "revoked",
        )
        return self._save_secret(actor, "secret.revoke", before, after)

    def rotate(
        self,
        secret_id: str,
        *,
        grace: timedelta | str = timedelta(0),
        actor: str | None = None,
    ) -> Issued:
        """Issue a new secret with the same client, scopes, name and expiry.

        The old secret stays valid until ``grace`` has passed, then answers REVOKED.
        """
        old = self.get_secret(secret_id)
        now = self.clock.now()
        if old.is_revoked(now):
            raise Conflict("cannot rotate a revoked secret")
        if old.replaced_by is not None:
            raise Conflict(f"secret was already rotated; its successor is {old.replaced_by}")
        if old.prefix is None:
            raise Conflict("an imported secret cannot be rotated; issue a new one instead")
        period = parse_duration(grace)
        return self._issue(
            self.get_client(old.client_id),
            scopes=old.scopes,
            name=old.name,
            expires_at=old.expires_at,
            prefix=old.prefix,
            actor=actor,
            now=now,
            limits=_Limits(
                rate_limit=old.rate_limit,
                credits=old.credits,
                refill=old.refill,
                credits_set_at=now if old.credits is not None else None,
                allowed_ips=old.allowed_ips,
            ),
            rotating=old,
            grace_ends=now + period,
        )

    def update(
        self,
        secret_id: str,
        *,
        scopes: Iterable[str] = _UNSET,
        name: str | None = _UNSET,
        expires_in: timedelta | str | None = _UNSET,
        expires_at: datetime | None = _UNSET,
        rate: str | None = _UNSET,
        credits: int | None = _UNSET,
        refill: str | None = _UNSET,
        allowed_ips: Iterable[str] = _UNSET,
        actor: str | None = None,
    ) -> Secret:
        """Change a secret's scopes, name, expiry or limits; None removes a limit.

        Setting ``credits`` starts a fresh count with the new allowance.
        """
        before = self.get_secret(secret_id)
        after = before
        if rate is not _UNSET:
            after = dataclasses.replace(
                after, rate_limit=RateLimit.parse(rate) if rate is not None else None
            )
        if credits is not _UNSET or refill is not _UNSET:
            new_credits = before.credits if credits is _UNSET else credits
            new_refill = (
                (None if new_credits is None else before.refill) if refill is _UNSET else refill
            )
            checked, checked_refill = validate_credits(new_credits, new_refill)
            after = dataclasses.replace(
                after,
                credits=checked,
                refill=checked_refill,
                credits_set_at=_later(self.clock.now(), before.credits_set_at)
                if credits is not _UNSET
                else after.credits_set_at,
            )
        if allowed_ips is not _UNSET:
            after = dataclasses.replace(after, allowed_ips=normalize_networks(allowed_ips))
        if scopes is not _UNSET:
            after = dataclasses.replace(after, scopes=normalize_scopes(scopes))
        if name is not _UNSET:
            after = dataclasses.replace(after, name=check.text(name, "name", optional=True))
        if expires_in is not _UNSET or expires_at is not _UNSET:
            after = dataclasses.replace(
                after,
                expires_at=self._expiry(
                    self.clock.now(),
                    None if expires_in is _UNSET else expires_in,
                    None if expires_at is _UNSET else expires_at,
                ),
            )
        return self._save_secret(actor, "secret.update", before, after)

    def _save_secret(self, actor: str | None, action: str, before: Secret, after: Secret) -> Secret:
        with self.store.transaction() as tx:
            tx.update_secret(after)
            tx.append_audit(self._event(actor, action, after, before, after))
        self._changed("secret", after.secret_id)
        return after

    @staticmethod
    def _expiry(
        now: datetime, expires_in: timedelta | str | None, expires_at: datetime | None
    ) -> datetime | None:
        if expires_in is not None and expires_at is not None:
            raise InvalidInput("give expires_in or expires_at, not both", field="expires_at")
        if expires_in is not None:
            delta = parse_duration(expires_in)
            if delta <= timedelta(0):
                raise InvalidInput("expires_in must be positive", field="expires_in")
            return now + delta
        if expires_at is not None:
            return check.aware(expires_at, "expires_at")
        return None

    # -- bootstrap -------------------------------------------------------------------------------
    def bootstrap_admin(self, *, name: str = ADMIN_CLIENT_NAME) -> Issued | None:
        """Create the first admin client and secret (scopes keyhive:admin and keyhive:verify).

        Returns the issued token (to be shown once) or None if an admin client exists.
        """
        existing = self.store.list_clients(owner=ADMIN_OWNER, limit=1)
        if existing:
            return None
        client = self.create_client(name, owner=ADMIN_OWNER, actor="keyhive init")
        return self.issue_secret(
            client.client_id,
            scopes=[ADMIN_SCOPE, VERIFY_SCOPE],
            name="first admin secret",
            actor="keyhive init",
        )

    # -- audit -----------------------------------------------------------------------------------
    def audit(
        self, *, after_id: int = 0, limit: int = 100, target_id: str | None = None
    ) -> list[AuditEvent]:
        """Audit events oldest first, after the event id ``after_id``."""
        if type(limit) is not int or not 1 <= limit <= 1000:
            raise InvalidInput("limit must be from 1 to 1000", field="limit")
        if not isinstance(after_id, int) or after_id < 0:
            raise InvalidInput("after_id must be a non-negative integer", field="after_id")
        target = check.identifier(target_id, "target_id") if target_id is not None else None
        return self.store.list_audit(after_id=after_id, limit=limit, target_id=target)

    def _event(
        self,
        actor: str | None,
        action: str,
        target: Client | Secret,
        before: Client | Secret | None,
        after: Client | Secret | None,
    ) -> AuditEvent:
        if isinstance(target, Client):
            kind, ident = "client", target.client_id
        else:
            kind, ident = "secret", target.secret_id
        return AuditEvent(
            id=None,
            at=self.clock.now(),
            actor=check.text(actor, "actor", optional=True),
            action=action,
            target_type=kind,
            target_id=ident,
            before=before.to_dict() if before is not None else None,
            after=after.to_dict() if after is not None else None,
        )

    # -- verification --------------------------------------------------------------------------
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
        """Check a credential read from request headers (see :mod:`keyhive.credentials`)."""
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
            self._evict("secret", old.secret.secret_id)
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
            return Verification(Code.REVOKED, client, secret)
        if secret.expires_at is not None and secret.expires_at <= now:
            return Verification(Code.EXPIRED, client, secret)
        if not client.enabled:
            return Verification(Code.DISABLED, client, secret)
        if secret.allowed_ips and not ip_allowed(secret.allowed_ips, ip):
            return Verification(Code.IP_NOT_ALLOWED, client, secret)
        if required and not _permits(secret.scopes, required):
            return Verification(Code.INSUFFICIENT_SCOPE, client, secret)
        if secret.rate_limit is None and secret.credits is None:
            self._usage.add(secret.secret_id, now)
            return valid or Verification(Code.VALID, client, secret)
        return self._count(secret, client, now)

    def _count(self, secret: Secret, client: Client, now: datetime) -> Verification:
        """Spend one rate-limit slot, then one credit; either may refuse."""
        status = None
        if secret.rate_limit is not None:
            status = self._rate.hit(secret.secret_id, secret.rate_limit)
            if not status.allowed:
                wait = max(0.0, status.reset - time.time())
                return Verification(
                    Code.RATE_LIMITED, client, secret, retry_after=wait, ratelimit=status
                )
        if secret.credits is None:
            self._usage.add(secret.secret_id, now)
            return Verification(Code.VALID, client, secret, ratelimit=status)
        period = credit_period(secret.refill, now, secret.credits_set_at)
        start = secret.credits_used if secret.credits_period == period else 0
        try:
            spent, used = self._credits.spend(f"{secret.secret_id}:{period}", secret.credits, start)
        except Exception:
            # Credits are a budget: when their counter cannot be reached, refuse (fail
            # closed). The counter logs the outage once; this path runs per request.
            return Verification(
                Code.USAGE_EXCEEDED,
                client,
                secret,
                retry_after=1.0,
                ratelimit=status,
                remaining=None,
            )
        if not spent:
            ends = period_end(secret.refill, now)
            return Verification(
                Code.USAGE_EXCEEDED,
                client,
                secret,
                retry_after=(ends - now).total_seconds() if ends is not None else None,
                ratelimit=status,
                remaining=0,
            )
        self._usage.add(secret.secret_id, now, period, used)
        return Verification(
            Code.VALID, client, secret, ratelimit=status, remaining=secret.credits - used
        )

    def _maybe_rehash(self, stored: StoredSecret, presented: str) -> None:
        if self.hashing.needs_rehash(stored.hash):
            self.store.replace_hash(
                stored.secret.secret_id, stored.hash, self.hashing.hash(presented)
            )

    def _changed(self, target_type: str, target_id: str) -> None:
        """After a committed change: evict here at once and tell the other nodes."""
        self._evict(target_type, target_id)
        if self._invalidator is not None:
            self._invalidator.publish(target_type, target_id)

    def _evict(self, target_type: str, target_id: str) -> None:
        if self._cache is None:
            return
        if target_type == "client":
            self._cache.evict_client(target_id)
        else:
            self._cache.evict_secret(target_id)


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


@dataclasses.dataclass(frozen=True, slots=True)
class _Limits:
    rate_limit: RateLimit | None = None
    credits: int | None = None
    refill: str | None = None
    credits_set_at: datetime | None = None
    allowed_ips: tuple[str, ...] = ()


def _rate_limiter(redis_url: str | None) -> RateLimiter:
    return LimitsRateLimiter(redis_url or "memory://")


def _credit_counter(redis_url: str | None) -> CreditCounter:
    return RedisCredits(redis_url) if redis_url else MemoryCredits()


def _invalidator(redis_url: str | None) -> Invalidator | None:
    if not redis_url:
        return None
    from keyhive.limits.redis_changes import RedisInvalidator

    return RedisInvalidator(redis_url)


def _encodable(text: str) -> bool:
    """Whether ``text`` is valid UTF-8 material (no lone surrogates a driver would choke on)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _later(now: datetime, previous: datetime | None) -> datetime:
    """``now``, but strictly after ``previous``: each new allowance gets its own counter."""
    if previous is None or now > previous:
        return now
    return previous + timedelta(microseconds=1)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
