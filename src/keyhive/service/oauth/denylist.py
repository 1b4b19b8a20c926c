"""Revoked access tokens, known in memory in every process.

Revoking writes the ``jti`` to the database with an audit event (target type
``token``); each process loads the list once and then learns new entries from the
change feed (:meth:`RevokedTokens.on_change`), so checking a token costs a set lookup.
Entries are forgotten once their token has expired anyway.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Final

from keyhive.core.clock import Clock
from keyhive.storage.oauth import OAuthStore

TOKEN_TARGET: Final = "token"


class RevokedTokens:
    """jti -> expiry of revoked tokens that have not expired yet."""

    def __init__(self, store: OAuthStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._expiry: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self.reload()

    def __contains__(self, jti: object) -> bool:
        return jti in self._expiry

    def __len__(self) -> int:
        return len(self._expiry)

    def add(self, jti: str, expires_at: datetime) -> None:
        with self._lock:
            self._expiry[jti] = expires_at

    def reload(self) -> None:
        """Read the whole list again (at start, and when change messages may be lost)."""
        now = self._clock.now()
        fresh = {r.jti: r.expires_at for r in self._store.revoked_tokens(expiring_after=now)}
        with self._lock:
            self._expiry = fresh

    def on_change(self, target_type: str, target_id: str) -> None:
        """A change-feed entry: for a revoked token, fetch its row and remember it."""
        if target_type != TOKEN_TARGET or target_id in self._expiry:
            return
        row = self._store.revoked_token(target_id)
        if row is not None:
            self.add(row.jti, row.expires_at)
        self._forget_expired()

    def _forget_expired(self) -> None:
        now = self._clock.now()
        with self._lock:
            gone = [jti for jti, exp in self._expiry.items() if exp <= now]
            for jti in gone:
                del self._expiry[jti]
