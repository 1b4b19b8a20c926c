"""Secrets: issue, read, revoke, rotate and change them; every change atomic and audited.

Each change reads the secret it changes inside its write transaction (a row lock on
PostgreSQL, the write lock on SQLite), checks the rules against that current state, and
writes back only the fields it changes. So a revoke and a concurrent change of scopes
both land; revocation is final (a revoked secret cannot be changed); a secret has at
most one successor (a second rotation answers Conflict).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from keyhive.core import validation as check
from keyhive.core.durations import parse_duration
from keyhive.core.errors import Conflict, IdTaken, InvalidInput, NotFound, SecretNotFound
from keyhive.core.ipallow import normalize_networks
from keyhive.core.model import Issued, Secret, StoredSecret
from keyhive.core.quotas import RateInput, parse_limits, validate_credits
from keyhive.core.roles import role_names
from keyhive.core.scopes import ADMIN_GRANTS, normalize_scopes
from keyhive.core.tokens import is_secret_id, make_token, validate_prefix
from keyhive.service._base import ATTEMPTS, UNSET
from keyhive.service.admins import guard_admins
from keyhive.service.clients import ClientLifecycle
from keyhive.service.credit_changes import credit_changes
from keyhive.storage import Transaction


class SecretLifecycle(ClientLifecycle):
    """The secret half of the admin API."""

    def issue_secret(
        self,
        client_id: str,
        *,
        scopes: Iterable[str] = (),
        name: str | None = None,
        expires_in: timedelta | str | None = None,
        expires_at: datetime | None = None,
        prefix: str | None = None,
        rate: RateInput = None,
        credits: int | None = None,
        refill: str | None = None,
        allowed_ips: Iterable[str] = (),
        roles: Iterable[str] = (),
        actor: str | None = None,
    ) -> Issued:
        """Issue a secret token; it is returned this once and stored only as a hash.

        ``rate`` (``100/minute``; or named limits: ``["burst=20/second", "day=50000/day"]``
        or ``{"burst": "20/second"}``), ``credits`` (optionally refilled each ``day`` or
        ``month``) and ``allowed_ips`` (CIDRs) limit how it may be used; ``roles`` add
        their scopes to ``scopes``. Returns after the write committed (on SQLite: synced
        to disk).
        """
        template = self._secret_template(
            self.get_client(client_id).client_id,
            scopes=scopes,
            name=name,
            expires_in=expires_in,
            expires_at=expires_at,
            prefix=prefix,
            rate=rate,
            credits=credits,
            refill=refill,
            allowed_ips=allowed_ips,
            roles=roles,
        )

        def insert(tx: Transaction, secret: Secret, stored: StoredSecret) -> None:
            tx.insert_secret(stored)
            self._audit(tx, self._event(actor, "secret.issue", secret, None, secret))

        return self._insert_new(template, insert)

    def _secret_template(
        self,
        client_id: str,
        *,
        scopes: Iterable[str] = (),
        name: str | None = None,
        expires_in: timedelta | str | None = None,
        expires_at: datetime | None = None,
        prefix: str | None = None,
        rate: RateInput = None,
        credits: int | None = None,
        refill: str | None = None,
        allowed_ips: Iterable[str] = (),
        roles: Iterable[str] = (),
    ) -> Secret:
        """A new secret's fields, checked (its id comes with its token in _insert_new)."""
        wanted_roles = self._existing_roles(roles)
        now = self.clock.now()
        checked_credits, checked_refill = validate_credits(credits, refill)
        return Secret(
            secret_id="",
            client_id=client_id,
            name=check.text(name, "name", optional=True),
            scopes=normalize_scopes(scopes),
            prefix=validate_prefix(prefix) if prefix is not None else self.prefix,
            created_at=now,
            expires_at=_expiry(now, expires_in, expires_at),
            rate_limits=parse_limits(rate),
            credits=checked_credits,
            refill=checked_refill,
            credits_set_at=now if checked_credits is not None else None,
            allowed_ips=normalize_networks(allowed_ips),
            roles=wanted_roles,
        )

    def _insert_new(self, template: Secret, write: Any, *, rotating: str | None = None) -> Issued:
        """Make a token and write it with ``write(tx, secret, stored)``, retrying on an id
        that is taken. The slow hash runs before the transaction, which stays short."""
        assert template.prefix is not None
        for _ in range(ATTEMPTS):
            token = make_token(template.prefix)
            secret = dataclasses.replace(template, secret_id=token.secret_id, rotated_from=rotating)
            stored = StoredSecret(
                secret, self.hashing.hash(token.text), self._digest_of(token.text)
            )
            try:
                with self.store.transaction() as tx:
                    result = write(tx, secret, stored)
            except IdTaken:
                continue
            return Issued(token.text, result if isinstance(result, Secret) else secret)
        raise Conflict("could not find a free secret_id")  # pragma: no cover - 62**-16 odds

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
        self,
        secret_id: str,
        *,
        reason: str | None = None,
        actor: str | None = None,
        keep_admin: bool = False,
    ) -> Secret:
        """Revoke now; the secret answers REVOKED from the next verification on.

        Revoking again keeps the first time (a new reason replaces the old one).
        ``keep_admin`` refuses (LastAdmin) to revoke the last active admin secret; the
        HTTP API sets it.
        """
        why = check.text(reason, "reason", limit=check.MAX_REASON, optional=True)
        check.identifier(secret_id, "secret_id")
        with self.store.transaction() as tx:
            before = self._locked(tx, secret_id)
            now = self.clock.now()
            if keep_admin:
                guard_admins(tx, now, secret_id=secret_id)
            changes: dict[str, Any] = {
                "revoked_reason": why or before.revoked_reason or "revoked",
            }
            if not before.is_revoked(now):
                changes["revoked_at"] = now
            after = dataclasses.replace(before, **changes)
            tx.patch_secret(secret_id, changes)
            self._audit(tx, self._event(actor, "secret.revoke", after, before, after))
        self._changed("secret", secret_id)
        return after

    def rotate(
        self,
        secret_id: str,
        *,
        grace: timedelta | str = timedelta(0),
        actor: str | None = None,
    ) -> Issued:
        """Issue a new secret with the same client, scopes, name, expiry and limits.

        The old secret stays valid until ``grace`` has passed, then answers REVOKED. A
        secret has one successor: rotating it again (even concurrently) is a Conflict.
        """
        period = parse_duration(grace)
        if period < timedelta(0):
            raise InvalidInput("grace must not be negative", field="grace")
        first = self.get_secret(secret_id)
        now = self.clock.now()
        _rotatable(first, now)

        def write(tx: Transaction, new: Secret, stored: StoredSecret) -> Secret:
            old = self._locked(tx, secret_id)
            _rotatable(old, now)  # the state now, under the lock: a rival may have won
            new = _successor(old, new, now)
            tx.insert_secret(dataclasses.replace(stored, secret=new))
            changes: dict[str, Any] = {
                "replaced_by": new.secret_id,
                "revoked_at": _earliest(old.revoked_at, now + period),
                "revoked_reason": old.revoked_reason or "rotated",
            }
            tx.patch_secret(secret_id, changes)
            after = dataclasses.replace(old, **changes)
            self._audit(
                tx,
                self._event(actor, "secret.rotate", after, old, after),
                self._event(actor, "secret.issue", new, None, new),
            )
            return new

        issued = self._insert_new(first, write, rotating=secret_id)
        self._changed("secret", secret_id)
        return issued

    def update(
        self,
        secret_id: str,
        *,
        scopes: Iterable[str] = UNSET,
        name: str | None = UNSET,
        expires_in: timedelta | str | None = UNSET,
        expires_at: datetime | None = UNSET,
        rate: RateInput = UNSET,
        credits: int | None = UNSET,
        refill: str | None = UNSET,
        allowed_ips: Iterable[str] = UNSET,
        roles: Iterable[str] = UNSET,
        actor: str | None = None,
        keep_admin: bool = False,
    ) -> Secret:
        """Change a secret's scopes, roles, name, expiry or limits; None removes a limit.

        ``rate`` replaces all its rate limits (one string, a list or a mapping, as for
        :meth:`issue_secret`); ``roles`` replaces the roles it holds.

        Setting ``credits`` starts a fresh count with the new allowance. A revoked secret
        cannot be changed (Conflict). ``keep_admin`` refuses to take keyhive:admin from
        the last active admin secret.
        """
        wanted: dict[str, Any] = {}
        if scopes is not UNSET:
            wanted["scopes"] = normalize_scopes(scopes)
        if name is not UNSET:
            wanted["name"] = check.text(name, "name", optional=True)
        if rate is not UNSET:
            wanted["rate_limits"] = parse_limits(rate)
        if roles is not UNSET:
            wanted["roles"] = self._existing_roles(roles)
        if allowed_ips is not UNSET:
            wanted["allowed_ips"] = normalize_networks(allowed_ips)
        if expires_in is not UNSET or expires_at is not UNSET:
            wanted["expires_at"] = _expiry(
                self.clock.now(),
                None if expires_in is UNSET else expires_in,
                None if expires_at is UNSET else expires_at,
            )
        check.identifier(secret_id, "secret_id")
        with self.store.transaction() as tx:
            before = self._locked(tx, secret_id)
            now = self.clock.now()
            changes = dict(wanted)
            if credits is not UNSET or refill is not UNSET:
                changes.update(credit_changes(before, credits, refill, now))
            if before.is_revoked(now) and changes:
                raise Conflict("the secret is revoked: a revoked secret cannot be changed")
            if (
                keep_admin
                and "scopes" in changes
                and not ADMIN_GRANTS.intersection(changes["scopes"])
            ):
                guard_admins(tx, now, secret_id=secret_id)
            after = dataclasses.replace(before, **changes)
            if changes:
                tx.patch_secret(secret_id, changes)
            self._audit(tx, self._event(actor, "secret.update", after, before, after))
        self._changed("secret", secret_id)
        return after

    def _existing_roles(self, roles: Iterable[str] | None) -> tuple[str, ...]:
        """Role names, each of an existing role (NotFound names one that is not)."""
        names = role_names(roles)
        if names:
            known = self.store.get_roles(names)
            missing = [name for name in names if name not in known]
            if missing:
                raise NotFound("role", missing[0])
        return names

    def _locked(self, tx: Transaction, secret_id: str) -> Secret:
        stored = tx.lock_secret(secret_id) if is_secret_id(secret_id) else None
        if stored is None:
            raise SecretNotFound(secret_id)
        return stored.secret


def _rotatable(secret: Secret, now: datetime) -> None:
    if secret.is_revoked(now):
        raise Conflict("cannot rotate a revoked secret")
    if secret.replaced_by is not None:
        raise Conflict(f"secret was already rotated; its successor is {secret.replaced_by}")
    if secret.prefix is None:
        raise Conflict("an imported secret cannot be rotated; issue a new one instead")


def _successor(old: Secret, new: Secret, now: datetime) -> Secret:
    """The new secret of a rotation: the old one's fields as they are now, a fresh count."""
    return dataclasses.replace(
        old,
        secret_id=new.secret_id,
        created_at=now,
        revoked_at=None,
        revoked_reason=None,
        last_used_at=None,
        usage_count=0,
        rotated_from=old.secret_id,
        replaced_by=None,
        credits_set_at=now if old.credits is not None else None,
        credits_used=0,
        credits_period=None,
    )


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


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
