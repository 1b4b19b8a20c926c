"""The Store protocol: what the service layer needs from a database, and nothing more.

Reads are single calls; writes go through :meth:`Store.transaction`, so an admin change
and its audit event commit together or not at all. Implementations: SQL (SQLite and
PostgreSQL through SQLAlchemy Core) and memory (tests, embedded use).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, NamedTuple, Protocol

from keyhive.core.audit_chain import SealedEvent
from keyhive.core.model import AuditEvent, Client, Code, Owner, Role, Secret, StoredSecret
from keyhive.core.portal import PortalSession
from keyhive.core.usage import UsageRow
from keyhive.core.webhooks import Event, Webhook
from keyhive.storage.oauth import OAuthStore
from keyhive.storage.webhooks import WebhookStore


@dataclass(frozen=True, slots=True)
class Usage:
    """VALID verifications of one secret since the last flush, and the time of the latest
    (None when the batch holds only refusals)."""

    count: int
    last_used_at: datetime | None
    #: The credit counter seen last, and what it had spent (recorded as a maximum).
    credits_period: str | None = None
    credits_used: int = 0
    #: Verdicts per (UTC hour, code), every attributable code: added to the hourly buckets.
    codes: Mapping[tuple[datetime, Code], int] = field(default_factory=dict)


class LookupRecord(NamedTuple):
    """Everything a first verification of a lookup reads (see :meth:`Store.read_lookup`):
    no client means nothing is known by that lookup."""

    client: Client | None
    secrets: list[StoredSecret]
    owner: Owner | None
    roles: dict[str, Role]


#: Fields of a secret that an admin change may write (``Transaction.patch_secret``).
SECRET_FIELDS: Final = frozenset(
    {
        "name",
        "scopes",
        "expires_at",
        "revoked_at",
        "revoked_reason",
        "replaced_by",
        "rate_limits",
        "credits",
        "refill",
        "credits_set_at",
        "allowed_ips",
        "roles",
    }
)
#: Fields of an owner's limits that an admin change may write (``Transaction.save_owner``).
OWNER_FIELDS: Final = frozenset({"rate_limits", "credits", "refill", "credits_set_at"})
#: Fields of a role that an admin change may write (``Transaction.patch_role``).
ROLE_FIELDS: Final = frozenset({"scopes", "description"})
#: Fields of a client that an admin change may write (``Transaction.patch_client``).
CLIENT_FIELDS: Final = frozenset({"name", "owner", "metadata", "enabled"})


class Transaction(Protocol):
    """Writes that commit together when the ``with`` block ends without an error.

    Admin changes read what they change with ``lock_*`` inside the transaction (a row
    lock on PostgreSQL; SQLite's write transaction already excludes other writers) and
    write back only the fields they change with ``patch_*``, so two changes of one
    record never undo each other.
    """

    def lock_client(self, client_id: str) -> Client | None:
        """The client, locked against other writers until the transaction ends."""
        ...

    def lock_secret(self, secret_id: str) -> StoredSecret | None:
        """The secret, locked against other writers until the transaction ends."""
        ...

    def lock_secrets(self, secret_ids: Sequence[str]) -> dict[str, StoredSecret]:
        """Many secrets at once, by id, locked like :meth:`lock_secret` (missing ids are
        left out): a batch such as a leak report costs a few statements, not three per
        secret."""
        ...

    def patch_client(self, client_id: str, changes: Mapping[str, Any]) -> None:
        """Write only these fields (from CLIENT_FIELDS) of a client."""
        ...

    def patch_secret(self, secret_id: str, changes: Mapping[str, Any]) -> None:
        """Write only these fields (from SECRET_FIELDS); setting ``replaced_by`` raises
        Conflict if the secret already has a successor."""
        ...

    def lock_admins(self) -> list[tuple[Secret, Client]]:
        """Every secret holding keyhive:admin (or keyhive:*) with its client, locked so that
        two changes cannot each remove a different last admin."""
        ...

    def insert_client(self, client: Client) -> None:
        """Add a client; raises Conflict if the client_id exists."""
        ...

    def update_client(self, client: Client) -> None:
        """Replace a client's mutable fields (name, owner, metadata, enabled)."""
        ...

    def insert_secret(self, stored: StoredSecret) -> None:
        """Add a secret with its hash string; raises Conflict if the secret_id exists."""
        ...

    def update_secret(self, secret: Secret) -> None:
        """Replace a secret's public fields (scopes, expiry, revocation, rotation links)."""
        ...

    def append_audit(self, event: AuditEvent) -> None:
        """Append an audit event (its ``id`` is assigned by the store)."""
        ...

    # -- leaks (many secrets revoked at once) ------------------------------------------------
    def revoke_secrets(self, secrets: Sequence[Secret]) -> None:
        """Write each secret's ``revoked_at`` and ``revoked_reason``, and nothing else."""
        ...

    # -- webhooks (the outbox: events commit with the change that causes them) ---------------
    def webhook_subscriptions(self) -> list[Webhook]:
        """The enabled webhook endpoints (a plain read: it locks nothing)."""
        ...

    def enqueue_webhook_event(self, event: Event, webhook_ids: Sequence[str]) -> bool:
        """Write an event and one pending delivery per endpoint. An event with a
        ``period`` is written once per (type, subject, period): False if it exists."""

    # -- plans (owners' limits, roles) -------------------------------------------------------
    def lock_owner(self, owner: str) -> Owner:
        """The owner's limits, locked until the transaction ends; an owner without any
        gets an empty record first, so two first changes queue behind each other."""
        ...

    def save_owner(self, owner: str, changes: Mapping[str, Any], at: datetime) -> None:
        """Write only these fields (from OWNER_FIELDS) of an owner's limits; ``at``
        becomes its ``updated_at``."""
        ...

    def lock_role(self, name: str) -> Role | None:
        """The role, locked against other writers until the transaction ends."""
        ...

    def insert_role(self, role: Role) -> None:
        """Add a role; raises IdTaken if its name exists."""
        ...

    def patch_role(self, name: str, changes: Mapping[str, Any], at: datetime) -> None:
        """Write only these fields (from ROLE_FIELDS) of a role."""
        ...

    def delete_role(self, name: str, now: datetime) -> None:
        """Remove a role. Conflict if a secret that is not revoked holds it; revoked
        secrets (which never verify again) lose it with the role."""

    # -- portal sessions -------------------------------------------------------------------
    def lock_owner_keys(self, owner: str) -> tuple[list[Client], list[Secret]]:
        """The owner's clients and every secret of theirs, read under a lock that every
        other ``lock_owner`` of this owner waits for until this transaction ends (an
        advisory lock on PostgreSQL; SQLite's write lock; the memory store's lock)."""
        ...

    def insert_portal_session(self, session: PortalSession, code_digest: str) -> None:
        """Add a portal session with the digest of its one-time code."""
        ...

    def claim_portal_code(self, code_digest: str, now: datetime) -> PortalSession | None:
        """Mark the session of this code opened at ``now`` if it is unopened and unexpired,
        and return it; None otherwise. Of two racing claims, one wins."""
        ...

    def delete_portal_sessions(self, *, expired_before: datetime) -> int:
        """Forget sessions that expired before ``expired_before``; how many."""
        ...


class Store(Protocol):
    """Persistent state of keyhive. Every method is safe to call from several threads."""

    #: True when the contents die with the process (the memory store).
    ephemeral: bool

    @property
    def local_reads(self) -> bool:
        """True when a read never waits on a network or another writer (memory; SQLite
        in WAL mode, where readers do not block): a verification may then read it on
        the event loop instead of paying a hop to a worker thread."""
        ...

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest version."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

    def get_client(self, client_id: str) -> Client | None: ...

    def list_clients(
        self, *, owner: str | None = None, limit: int = 100, after: str | None = None
    ) -> list[Client]:
        """Clients ordered by client_id, ``after`` an id for paging."""
        ...

    def get_secret(self, secret_id: str) -> StoredSecret | None: ...

    def list_secrets(self, client_id: str) -> list[StoredSecret]:
        """Every secret of a client, oldest first."""
        ...

    def list_audit(
        self, *, after_id: int = 0, limit: int = 100, target_id: str | None = None
    ) -> list[AuditEvent]:
        """Audit events in order of id, starting after ``after_id``."""
        ...

    def last_audit_id(self) -> int:
        """The id of the newest audit event (0 if none): a cursor for change polling."""
        ...

    def transaction(self) -> AbstractContextManager[Transaction]: ...

    def replace_hash(self, secret_id: str, old: str, new: str) -> bool:
        """Swap a secret's hash string if it is still ``old`` (after a rehash); True if done."""
        ...

    def set_digest(self, secret_id: str, old: str | None, new: str) -> bool:
        """Set a secret's digest if it is still ``old`` (after a match); True if done."""
        ...

    def record_usage(self, usage: Mapping[str, Usage]) -> None:
        """Add batched usage counts and move last_used_at forward."""
        ...

    def delete_all(self) -> None:
        """Remove every row (tests only)."""
        ...

    # -- leaks (many secrets checked at once) -----------------------------------------------
    def get_secrets(self, secret_ids: Sequence[str]) -> list[StoredSecret]:
        """The secrets among these ids that exist, in no particular order."""
        ...

    # -- usage analytics --
    def usage_rows(
        self,
        *,
        since: datetime,
        secret_id: str | None = None,
        client_id: str | None = None,
        per_secret: bool = False,
    ) -> list[UsageRow]:
        """Verifications per hour and code from ``since`` on: of one secret, of a client's
        secrets, or of all; summed over the secrets unless ``per_secret``."""
        ...

    def prune_usage(self, before: datetime) -> int:
        """Delete the usage buckets of hours before ``before`` (retention); returns the count."""
        ...

    # -- dashboard queries --
    def search_clients(
        self,
        *,
        text: str | None = None,
        enabled: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Client], int]:
        """Clients whose name, owner or id contains ``text`` (any case), by name; and how
        many match in all (for paging)."""
        ...

    def count_active_secrets(self, now: datetime) -> int:
        """Secrets neither revoked nor expired at ``now``."""
        ...

    def expiring_secrets(self, *, now: datetime, until: datetime, limit: int = 100) -> list[Secret]:
        """Live secrets whose expiry falls after ``now`` and by ``until``, soonest first."""
        ...

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
        ...

    # -- oauth --
    @property
    def oauth(self) -> OAuthStore:
        """Signing keys and revoked access tokens, in the same database."""
        ...

    # -- audit chain (tamper-evident audit log) --------------------------------------------
    def audit_chain(self, *, after_id: int = 0, limit: int = 1000) -> list[SealedEvent]:
        """Audit events with their chain hashes, in order of id, after ``after_id``."""
        ...

    def audit_head(self) -> SealedEvent | None:
        """The newest audit event with its hash (None while the log is empty)."""
        ...

    # -- webhooks --------------------------------------------------------------------------
    @property
    def webhooks(self) -> WebhookStore:
        """Webhook endpoints, their deliveries and the sender's claims."""

    # -- plans (owners' limits, roles, imported keys) ------------------------------------------
    def get_owner(self, owner: str) -> Owner | None:
        """An owner's limits; None when none were ever set."""
        ...

    def get_roles(self, names: Sequence[str]) -> dict[str, Role]:
        """The roles among these names that exist, by name."""
        ...

    def list_roles(self) -> list[Role]:
        """Every role, by name."""
        ...

    def read_lookup(self, kind: str, ident: str) -> LookupRecord:
        """In one read, a lookup's secrets (``s`` a secret id, ``l`` an imported key's
        handle, ``c`` a client's secrets presented with its client_id), their client, the
        client's owner's limits and the roles the secrets hold. SQL stores do the same
        work whether or not anything is found."""
        ...

    def get_legacy(self, legacy_id: str) -> StoredSecret | None:
        """The imported key with this handle (``drf:<prefix>``, ``keygate:<prefix>``)."""
        ...

    def record_owner_usage(self, usage: Mapping[str, tuple[str, int]]) -> None:
        """Record what owners' credit counters had spent: owner -> (period, used), kept as
        a maximum within a period (like a secret's)."""
        ...

    # -- portal sessions -------------------------------------------------------------------
    def get_portal_session(self, session_id: str) -> PortalSession | None: ...
