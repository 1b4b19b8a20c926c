"""Queries the dashboard pages need: searching clients and the audit log, counting live
secrets, listing the ones about to expire."""

from __future__ import annotations

from datetime import datetime, timedelta

from keyhive.core import validation as check
from keyhive.core.durations import parse_duration
from keyhive.core.errors import InvalidInput
from keyhive.core.model import AuditEvent, Client, Secret
from keyhive.service._base import HiveBase


class Browsing(HiveBase):
    """``search_clients``, ``count_active_secrets``, ``expiring_secrets``, ``search_audit``."""

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
