"""Portal sessions in memory: the reference behaviour of :mod:`.portal_sql`."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from keyhive.core.errors import IdTaken
from keyhive.core.portal import PortalSession


class PortalRecords:
    """Sessions by id and the digest of each one's code; the caller holds the store's lock.

    ``copy.copy`` copies the dicts too, so a failed transaction's snapshot restores them.
    """

    def __init__(self) -> None:
        self.sessions: dict[str, PortalSession] = {}
        self.codes: dict[str, str] = {}  # code digest -> session_id

    def __copy__(self) -> PortalRecords:
        twin = PortalRecords()
        twin.sessions = dict(self.sessions)
        twin.codes = dict(self.codes)
        return twin

    def insert(self, session: PortalSession, code_digest: str) -> None:
        if session.session_id in self.sessions or code_digest in self.codes:
            raise IdTaken("portal session exists")
        self.sessions[session.session_id] = session
        self.codes[code_digest] = session.session_id

    def claim(self, code_digest: str, now: datetime) -> PortalSession | None:
        session = self.sessions.get(self.codes.get(code_digest, ""))
        if session is None or session.opened_at is not None or session.is_expired(now):
            return None
        opened = dataclasses.replace(session, opened_at=now)
        self.sessions[session.session_id] = opened
        return opened

    def delete_expired(self, before: datetime) -> int:
        gone = {sid for sid, s in self.sessions.items() if s.expires_at < before}
        for sid in gone:
            del self.sessions[sid]
        self.codes = {d: sid for d, sid in self.codes.items() if sid not in gone}
        return len(gone)
