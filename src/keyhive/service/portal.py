"""Portal sessions in the facade: an admin opens one for an owner; the owner then lists,
creates, rotates and revokes their own keys, within what the session allows.

Every portal change is the admin API's own change (the same checks, the same audit
events) with ``portal:<owner>`` as the actor, after two portal rules: a key belongs to
the session's owner (any other id is NotFound, as if it did not exist), and its scopes
are among the session's ``allowed_scopes``. ``max_secrets`` is checked inside the
creating transaction, under a lock per owner, so racing creations cannot pass it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from keyhive.core import portal as rules
from keyhive.core import validation as check
from keyhive.core.errors import (
    ClientNotFound,
    ConfigurationError,
    Conflict,
    IdTaken,
    InvalidInput,
    NotFound,
    SecretNotFound,
)
from keyhive.core.model import AuditEvent, Client, Issued, Secret, StoredSecret
from keyhive.core.portal import PortalLink, PortalSession
from keyhive.core.tokens import generate_key, is_secret_id
from keyhive.service._base import ATTEMPTS
from keyhive.service.admins import ADMIN_OWNER, is_admin
from keyhive.service.secrets import SecretLifecycle
from keyhive.storage import Transaction

#: Where the portal is mounted under the public URL (keyhive.server.app mounts it there).
PORTAL_PATH = "/portal"
_TARGET = "portal_session"


class PortalSessions(SecretLifecycle):
    """``create_portal_session`` for admins; ``open_portal_session``, ``portal_session``
    and the ``portal_*`` changes for the portal's pages."""

    # -- for admins ------------------------------------------------------------------------
    def create_portal_session(
        self,
        owner: str,
        *,
        allowed_scopes: Iterable[str],
        max_secrets: int | None = None,
        return_url: str | None = None,
        ttl: timedelta | str = rules.DEFAULT_TTL,
        client_name: str | None = None,
        base_url: str | None = None,
        created_by: str | None = None,
        actor: str | None = None,
    ) -> PortalLink:
        """A portal session for ``owner`` and the one-time link that opens it.

        The customer may give their keys only ``allowed_scopes`` (never keyhive's own),
        hold at most ``max_secrets`` active keys, and is offered a link back to
        ``return_url``. If the owner has no client yet, one named ``client_name`` (default:
        the owner) is created. The link is ``base_url`` (default: the ``KEYHIVE_PUBLIC_URL``
        setting) + ``/portal/enter/<code>``; it works once, until ``ttl`` (15m by default,
        at most 24h) has passed, and the session it opens ends then too. ``created_by``
        names the admin secret asking: revoking it ends the session at once.
        """
        who = rules.check_owner(owner)
        if who == ADMIN_OWNER:  # taken, as it were: a 409 rather than a malformed request
            raise Conflict(
                f"the owner {ADMIN_OWNER!r} holds keyhive's own admin client; "
                "a portal cannot show it"
            )
        scopes = rules.check_allowed_scopes(allowed_scopes)
        limit = rules.check_max_secrets(max_secrets)
        back = rules.check_return_url(return_url)
        lifetime = rules.check_ttl(ttl)
        name = check.required_text(client_name, "client_name") if client_name else who
        base = self._portal_base(base_url)
        if created_by is not None and not is_secret_id(created_by):
            raise InvalidInput("created_by must be a secret_id", field="created_by")
        now = self.clock.now()
        session = PortalSession(
            session_id=rules.new_session_id(),
            owner=who,
            allowed_scopes=scopes,
            max_secrets=limit,
            return_url=back,
            created_by=created_by,
            created_at=now,
            expires_at=now + lifetime,
        )
        code = rules.new_code()
        made: Client | None = None
        with self.store.transaction() as tx:
            clients, _ = tx.lock_owner_keys(who)
            if not clients:
                made = self._new_owner_client(tx, who, name, actor)
            tx.delete_portal_sessions(expired_before=now - rules.KEEP_EXPIRED)
            tx.insert_portal_session(session, rules.code_digest(code))
            self._audit(tx, _event(actor, "portal.session.create", session, now))
        if made is not None:
            self._changed("client", made.client_id)
        return PortalLink(f"{base}{PORTAL_PATH}/enter/{code}", session)

    def _portal_base(self, base_url: str | None) -> str:
        if base_url is not None:
            return rules.absolute_url(base_url, "base_url").rstrip("/")
        configured = self.settings.public_base()
        if configured is None:
            raise ConfigurationError(
                "a portal link needs the address browsers reach keyhive at: "
                "set KEYHIVE_PUBLIC_URL (or pass base_url / --base-url)"
            )
        return configured

    def _new_owner_client(
        self, tx: Transaction, owner: str, name: str, actor: str | None
    ) -> Client:
        for _ in range(ATTEMPTS):
            client = Client(
                client_id=generate_key(),
                name=name,
                owner=owner,
                metadata={},
                enabled=True,
                created_at=self.clock.now(),
            )
            try:
                tx.insert_client(client)
            except IdTaken:  # pragma: no cover - 2**-256 odds
                continue
            self._audit(tx, self._event(actor, "client.create", client, None, client))
            return client
        raise Conflict("could not find a free client_id")  # pragma: no cover

    # -- for the portal's pages ------------------------------------------------------------
    def open_portal_session(self, code: str) -> PortalSession | None:
        """Use a link's code: its session, opened now; None if the code is unknown, used,
        expired, or its admin is gone. Of two racing uses, one gets the session."""
        if not isinstance(code, str) or not rules.looks_like_code(code):
            return None
        now = self.clock.now()
        with self.store.transaction() as tx:
            session = tx.claim_portal_code(rules.code_digest(code), now)
            if session is None or not self._creator_live(session, now):
                return None
            self._audit(tx, _event(session.actor, "portal.session.open", session, now))
        return session

    def portal_session(self, session_id: str) -> PortalSession | None:
        """The session if it is open and live right now (read afresh from the store: its
        expiry and its admin are checked on every call), else None."""
        if not isinstance(session_id, str) or not 1 <= len(session_id) <= 64:
            return None
        session = self.store.get_portal_session(session_id)
        now = self.clock.now()
        if session is None or session.opened_at is None or session.is_expired(now):
            return None
        return session if self._creator_live(session, now) else None

    def _creator_live(self, session: PortalSession, now: datetime) -> bool:
        if session.created_by is None:
            return True
        stored = self.store.get_secret(session.created_by)
        client = self.store.get_client(stored.secret.client_id) if stored is not None else None
        return stored is not None and client is not None and is_admin(stored.secret, client, now)

    def portal_keys(self, session: PortalSession) -> list[tuple[Client, list[Secret]]]:
        """The owner's clients, each with its secrets (oldest first)."""
        clients = self.list_clients(owner=session.owner, limit=1000)
        return [(c, [s.secret for s in self.store.list_secrets(c.client_id)]) for c in clients]

    def portal_secret(self, session: PortalSession, secret_id: str) -> Secret:
        """One of the owner's secrets; any other id is SecretNotFound."""
        try:
            secret = self.get_secret(secret_id)
            client = self.get_client(secret.client_id)
        except (NotFound, InvalidInput):
            raise SecretNotFound(_shown(secret_id)) from None
        if client.owner != session.owner:
            raise SecretNotFound(_shown(secret_id))
        return secret

    def portal_client(self, session: PortalSession, client_id: str) -> Client:
        """One of the owner's clients; any other id is ClientNotFound."""
        try:
            client = self.get_client(client_id)
        except (NotFound, InvalidInput):
            raise ClientNotFound(_shown(client_id)) from None
        if client.owner != session.owner:
            raise ClientNotFound(_shown(client_id))
        return client

    def portal_issue(
        self,
        session: PortalSession,
        client_id: str,
        *,
        scopes: Iterable[str],
        name: str | None = None,
        expires_in: timedelta | str | None = None,
    ) -> Issued:
        """Issue a key to one of the owner's clients, with scopes among the allowed ones,
        unless the owner already holds ``max_secrets`` active keys (Conflict)."""
        client = self.portal_client(session, client_id)
        chosen = rules.check_grant(scopes, session.allowed_scopes)
        template = self._secret_template(
            client.client_id, scopes=chosen, name=name, expires_in=expires_in
        )
        limit = session.max_secrets

        def insert(tx: Transaction, secret: Secret, stored: StoredSecret) -> None:
            clients, secrets = tx.lock_owner_keys(session.owner)
            if secret.client_id not in {c.client_id for c in clients}:
                raise ClientNotFound(_shown(secret.client_id))  # it changed owner meanwhile
            if limit is not None:
                now = self.clock.now()
                active = sum(1 for s in secrets if counts_as_active(s, now))
                if active >= limit:
                    raise Conflict(
                        f"you have {active} active keys, the most allowed here is {limit}: "
                        "revoke one before creating another"
                    )
            tx.insert_secret(stored)
            self._audit(tx, self._event(session.actor, "secret.issue", secret, None, secret))

        return self._insert_new(template, insert)

    def portal_rotate(
        self, session: PortalSession, secret_id: str, *, grace: timedelta | str = timedelta(0)
    ) -> Issued:
        """Rotate one of the owner's keys (the admin API's rotate); the grace period is at
        most 7 days here."""
        period = rules.check_grace(grace)
        secret = self._manageable(session, secret_id)
        return self.rotate(secret.secret_id, grace=period, actor=session.actor)

    def portal_revoke(self, session: PortalSession, secret_id: str) -> Secret:
        """Revoke one of the owner's keys now (the admin API's revoke)."""
        secret = self._manageable(session, secret_id)
        return self.revoke(
            secret.secret_id, reason="revoked in the portal", actor=session.actor, keep_admin=True
        )

    def _manageable(self, session: PortalSession, secret_id: str) -> Secret:
        """The owner's secret, if the portal could have granted every scope it holds: a
        rotation copies the scopes, so rotating another key would hand them out."""
        secret = self.portal_secret(session, secret_id)
        if not rules.grantable(secret.scopes, session.allowed_scopes):
            raise Conflict(
                "this key holds scopes that cannot be granted here; "
                "ask the API's operator to change it"
            )
        return secret


def counts_as_active(secret: Secret, now: datetime) -> bool:
    """Whether a key counts towards ``max_secrets``: not revoked, not on its way out after
    a rotation (its successor counts instead), not expired."""
    return secret.revoked_at is None and not secret.is_expired(now)


def _shown(ident: str) -> str:
    """An id for an error message: at most 128 characters of it."""
    return ident[:128] if isinstance(ident, str) else "?"


def _event(actor: str | None, action: str, session: PortalSession, at: datetime) -> AuditEvent:
    """The audit event of a session being created or opened: its public facts only."""
    facts: dict[str, Any] = session.to_dict()
    return AuditEvent(
        id=None,
        at=at,
        actor=actor,
        action=action,
        target_type=_TARGET,
        target_id=session.session_id,
        before=None,
        after=facts,
    )
