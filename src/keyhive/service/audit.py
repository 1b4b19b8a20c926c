"""Reading the audit log (every admin change, oldest first) and checking its chain."""

from __future__ import annotations

from typing import Final

from keyhive.core import validation as check
from keyhive.core.audit_chain import Anchor, ChainReport, ChainWalker, SealedEvent
from keyhive.core.errors import InvalidInput
from keyhive.core.model import AuditEvent
from keyhive.service._base import HiveBase

_CHAIN_PAGE: Final = 1000


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

    # -- the tamper-evident chain (see keyhive.core.audit_chain) -------------------------
    def verify_audit(self, *, anchor: Anchor | None = None) -> ChainReport:
        """Walk the whole audit log; the report names the first event changed, removed or
        inserted (and checks ``anchor``, a head recorded elsewhere, when given)."""
        walker = ChainWalker(anchor)
        after = 0
        while True:
            page = self.store.audit_chain(after_id=after, limit=_CHAIN_PAGE)
            for sealed in page:
                if not walker.add(sealed):
                    return walker.report()
            if len(page) < _CHAIN_PAGE:
                return walker.report()
            after = page[-1].id

    def audit_head(self) -> SealedEvent | None:
        """The newest audit event with its hash: the value to anchor elsewhere."""
        return self.store.audit_head()
