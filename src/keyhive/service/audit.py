"""Reading the audit log: every admin change, oldest first."""

from __future__ import annotations

from keyhive.core import validation as check
from keyhive.core.errors import InvalidInput
from keyhive.core.model import AuditEvent
from keyhive.service._base import HiveBase


class AuditLog(HiveBase):
    """``audit``: the events written beside every change, in the same transaction."""

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
