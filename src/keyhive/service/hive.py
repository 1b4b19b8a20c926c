"""The KeyHive facade: clients, secrets, verification and the audit log over one Store.

Depends only on the Store protocol and the core; the backends come from URLs
(:mod:`keyhive.counters.factory`); verification itself lives in :mod:`keyhive.service.verification`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from keyhive.core import validation as check
from keyhive.core.clock import Clock, SystemClock
from keyhive.core.credentials import Credential
from keyhive.core.durations import parse_duration
from keyhive.core.errors import (
    BadRecord,
    ClientNotFound,
    Conflict,
    InvalidInput,
    SecretNotFound,
)
from keyhive.core.hashing import Hashing, SeedScryptHasher
from keyhive.core.ipallow import normalize_networks
from keyhive.core.model import (
    AuditEvent,
    Client,
    Issued,
    Secret,
    SeedImport,
    StoredSecret,
    Verification,
)
from keyhive.core.quotas import RateLimit, validate_credits
from keyhive.core.scopes import normalize_scopes
from keyhive.core.settings import Settings
from keyhive.core.tokens import (
    KeyFormat,
    generate_key,
    is_secret_id,
    make_token,
    new_secret_id,
    validate_prefix,
)
from keyhive.core.usage import UsageSeries, Window
from keyhive.counters import factory as backends
from keyhive.counters.cache import VerificationCache
from keyhive.counters.changes import AuditPoller, Invalidator
from keyhive.counters.credits import CreditCounter
from keyhive.counters.rate import RateLimiter
from keyhive.counters.throttle import FailureThrottle
from keyhive.counters.usage import UsageBuffer
from keyhive.service import usage as usage_reads
from keyhive.service.usage import UsageRecorder
from keyhive.service.verification import Verifier
from keyhive.storage import Store, open_store

log = logging.getLogger(__name__)

ADMIN_SCOPE: Final = "keyhive:admin"
VERIFY_SCOPE: Final = "keyhive:verify"
ADMIN_OWNER: Final = "keyhive"
ADMIN_CLIENT_NAME: Final = "keyhive admin"
_ATTEMPTS: Final = 8
_UNSET: Any = object()


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
        #: Keys outside the database (digests, session signing, signing-key encryption).
        self.server_keys = self.settings.server_keys()
        self.clock: Clock = clock or SystemClock()
        self.prefix = self.settings.token_prefix
        self._usage_recorder = UsageRecorder(self.store, self.clock, self.settings.usage_retention)
        self._usage = UsageBuffer(self._usage_recorder, usage_flush_interval)
        self._seed = SeedScryptHasher()
        self._cache = VerificationCache(cache_size, cache_ttl) if cache_size > 0 else None
        self._throttle: FailureThrottle | None = (
            FailureThrottle() if throttle is _UNSET else throttle
        )
        redis_url = self.settings.redis_url
        self.verifier = Verifier(
            store=self.store,
            hashing=self.hashing,
            clock=self.clock,
            cache=self._cache,
            throttle=self._throttle,
            rate=rate_limiter or backends.rate_limiter(redis_url),
            credits=credit_counter or backends.credit_counter(redis_url),
            usage=self._usage,
            remote_counters=bool(redis_url),
        )
        self._poller: AuditPoller | None = None
        if self._cache is not None and watch_changes:
            self._poller = AuditPoller(self.store, self.verifier.expire, interval=change_interval)
            self._poller.start()
        self._invalidator: Invalidator | None = (
            backends.invalidator(redis_url) if invalidator is _UNSET else invalidator
        )
        if self._invalidator is not None and self._cache is not None and watch_changes:
            self._invalidator.start(self.verifier.expire, self._cache.clear)

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
        first successful verification it is re-hashed with the current hasher. The
        client must exist; :meth:`import_secrets` imports many and creates clients.
        """
        record = SeedImport(client_id, stored, name, tuple(scopes) if scopes else ())
        try:
            [secret] = self.import_secrets([record], create_clients=False, actor=actor)
        except BadRecord as exc:
            raise InvalidInput(exc.reason, field="stored") from None
        return secret

    def import_secrets(
        self,
        records: Sequence[SeedImport],
        *,
        create_clients: bool = True,
        actor: str | None = None,
    ) -> list[Secret]:
        """Import article-format secrets all or nothing: one transaction for the batch.

        Every record is checked before anything is written (a bad one raises BadRecord
        naming it); missing clients are created when ``create_clients``, else
        ClientNotFound. Returns the secrets in the order of ``records``.
        """
        checked = [self._checked_import(index, record) for index, record in enumerate(records)]
        now = self.clock.now()
        for _ in range(_ATTEMPTS):
            wanted = dict.fromkeys(r.client_id for r in checked)
            missing = [cid for cid in wanted if self.store.get_client(cid) is None]
            if missing and not create_clients:
                raise ClientNotFound(missing[0])
            names = {r.client_id: r.name or r.client_id for r in reversed(checked)}
            clients = [Client(cid, names[cid], None, {}, True, now) for cid in missing]
            secrets = [
                Secret(
                    secret_id=new_secret_id(),
                    client_id=r.client_id,
                    name=r.name,
                    scopes=r.scopes,
                    prefix=None,
                    created_at=now,
                )
                for r in checked
            ]
            try:
                with self.store.transaction() as tx:
                    for client in clients:
                        tx.insert_client(client)
                        tx.append_audit(self._event(actor, "client.create", client, None, client))
                    for secret, record in zip(secrets, checked, strict=True):
                        tx.insert_secret(StoredSecret(secret, record.stored))
                        tx.append_audit(self._event(actor, "secret.import", secret, None, secret))
            except Conflict:
                continue  # an id taken meanwhile (or a client created): try again afresh
            return secrets
        raise Conflict("could not import: ids kept colliding")  # pragma: no cover

    def _checked_import(self, index: int, record: SeedImport) -> SeedImport:
        """The record with its fields validated and normalised; BadRecord if it is not."""
        try:
            if not isinstance(record, SeedImport):
                raise InvalidInput("expected a SeedImport")
            if not isinstance(record.stored, str) or not self._seed.identifies(record.stored):
                raise InvalidInput("stored must be the article's <128 hex>.<16 hex salt> string")
            return SeedImport(
                client_id=check.identifier(record.client_id, "client_id"),
                stored=record.stored,
                name=check.text(record.name, "name", optional=True),
                scopes=normalize_scopes(record.scopes),
            )
        except InvalidInput as exc:
            raise BadRecord(index, str(exc)) from None

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

    # -- verification (see keyhive.service.verification) ------------------------------------
    def verify(
        self, token: str, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verification:
        """Check a secret token and the scopes a request needs; never raises on bad input.

        A credential seen before is answered from the cache (microseconds); a malformed
        token is answered NOT_FOUND before any storage access.
        """
        return self.verifier.verify(token, scopes, ip=ip)

    def verify_pair(
        self, client_id: str, secret: str, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verification:
        """Check a client_id + secret pair (HTTP Basic): a token or an article-format secret."""
        return self.verifier.verify_pair(client_id, secret, scopes, ip=ip)

    def verify_credential(
        self, credential: Credential, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verification:
        """Check a credential read from request headers (see :mod:`keyhive.core.credentials`)."""
        return self.verifier.verify_credential(credential, scopes, ip=ip)

    def verify_cached(
        self, credential: Credential, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verification | None:
        """The answer when it needs neither a hash nor I/O, else None (for event loops)."""
        return self.verifier.verify_cached(credential, scopes, ip=ip)

    def _changed(self, target_type: str, target_id: str) -> None:
        """After a committed change: evict here at once and tell the other nodes."""
        self.verifier.evict(target_type, target_id)
        if self._invalidator is not None:
            self._invalidator.publish(target_type, target_id)

    # -- usage analytics -------------------------------------------------------------------
    def usage(
        self, secret_id: str, since: timedelta | str = "7d", bucket: str = "hour"
    ) -> UsageSeries:
        """Verifications of one secret per ``bucket`` (hour or day) and code over ``since``.

        This process's pending counts are written first, so the answer includes them;
        other nodes' arrive with their next flush (seconds).
        """
        self.get_secret(secret_id)
        window = Window.ending_at(self.clock.now(), since, bucket)
        self._flush_for_reading()
        rows = self.store.usage_rows(since=window.start, secret_id=secret_id)
        return usage_reads.series(window, rows)

    def client_usage(
        self, client_id: str, since: timedelta | str = "7d", bucket: str = "hour"
    ) -> UsageSeries:
        """Verifications of all of a client's secrets together, as :meth:`usage`."""
        self.get_client(client_id)
        window = Window.ending_at(self.clock.now(), since, bucket)
        self._flush_for_reading()
        rows = self.store.usage_rows(since=window.start, client_id=client_id)
        return usage_reads.series(window, rows)

    def total_usage(self, since: timedelta | str = "24h", bucket: str = "hour") -> UsageSeries:
        """Verifications of every secret together, as :meth:`usage`."""
        window = Window.ending_at(self.clock.now(), since, bucket)
        self._flush_for_reading()
        return usage_reads.series(window, self.store.usage_rows(since=window.start))

    def secrets_usage(
        self, client_id: str, since: timedelta | str = "7d", bucket: str = "hour"
    ) -> dict[str, UsageSeries]:
        """One series per secret of a client that was used in the window (for sparklines)."""
        self.get_client(client_id)
        window = Window.ending_at(self.clock.now(), since, bucket)
        self._flush_for_reading()
        rows = self.store.usage_rows(since=window.start, client_id=client_id, per_secret=True)
        return usage_reads.per_secret(window, rows)

    def _flush_for_reading(self) -> None:
        """Write pending counts before a read; if the store cannot take them, they stay."""
        try:
            self._usage.flush()
        except Exception as exc:
            log.warning("usage flush before a read failed: %s", type(exc).__name__)

    # -- dashboard queries -----------------------------------------------------------------
    def search_clients(
        self,
        text: str | None = None,
        *,
        enabled: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Client], int]:
        """Clients whose name, owner or client_id contains ``text`` (any case), by name,
        and how many match in all."""
        if type(limit) is not int or not 1 <= limit <= 1000:
            raise InvalidInput("limit must be from 1 to 1000", field="limit")
        if type(offset) is not int or not 0 <= offset <= 10**9:
            raise InvalidInput("offset must be from 0 to 10**9", field="offset")
        if enabled is not None and not isinstance(enabled, bool):
            raise InvalidInput("enabled must be true, false or None", field="enabled")
        needle = check.text(text, "search", optional=True) if text else None
        return self.store.search_clients(
            text=needle.strip() if needle else None, enabled=enabled, limit=limit, offset=offset
        )

    def count_active_secrets(self) -> int:
        """Secrets neither revoked nor expired now."""
        return self.store.count_active_secrets(self.clock.now())

    def expiring_secrets(self, within: timedelta | str = "7d", *, limit: int = 100) -> list[Secret]:
        """Live secrets that expire within ``within`` from now, soonest first."""
        if type(limit) is not int or not 1 <= limit <= 1000:
            raise InvalidInput("limit must be from 1 to 1000", field="limit")
        now = self.clock.now()
        until = now + parse_duration(within)
        return self.store.expiring_secrets(now=now, until=until, limit=limit)

    def search_audit(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> list[AuditEvent]:
        """Audit events matching every filter given, newest first; ``before_id`` pages back."""
        if type(limit) is not int or not 1 <= limit <= 1000:
            raise InvalidInput("limit must be from 1 to 1000", field="limit")
        if before_id is not None and (type(before_id) is not int or not 1 <= before_id <= 2**62):
            raise InvalidInput("before must be a positive event id", field="before")
        return self.store.search_audit(
            actor=check.text(actor, "actor", optional=True),
            action=check.text(action, "action", limit=64, optional=True),
            target_id=check.identifier(target_id, "target_id") if target_id is not None else None,
            since=check.aware(since, "since") if since is not None else None,
            until=check.aware(until, "until") if until is not None else None,
            before_id=before_id,
            limit=limit,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class _Limits:
    rate_limit: RateLimit | None = None
    credits: int | None = None
    refill: str | None = None
    credits_set_at: datetime | None = None
    allowed_ips: tuple[str, ...] = ()


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
