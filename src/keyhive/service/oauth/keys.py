"""Signing keys of access tokens: one current key, replaced on a schedule or on demand,
each published in the JWKS until the last token it signed has expired.

Keys live in the database (private part sealed, see :mod:`.seal`), so every node signs
with the same key and publishes the same set. Replacing the key inserts the next
generation; the database refuses a second row with the same generation, so nodes
that decide to rotate at the same moment end up with one new key, not two.
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from joserfc.jwk import Key

from keyhive.core.clock import Clock
from keyhive.core.errors import ConfigurationError
from keyhive.core.model import AuditEvent
from keyhive.core.oauth import OAuthConfig, TokenServiceUnavailable
from keyhive.core.serverkeys import ServerKeys
from keyhive.service.oauth import jose, seal
from keyhive.storage.oauth import OAuthStore, SigningKeyRecord

log = logging.getLogger(__name__)
KEY_TARGET: Final = "oauth_key"
_ATTEMPTS: Final = 3


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A key that can sign now: its record and the opened private key."""

    record: SigningKeyRecord
    private: Key = field(repr=False)

    @property
    def kid(self) -> str:
        return self.record.kid

    @property
    def alg(self) -> str:
        return self.record.alg


class SigningKeys:
    """The key ring of one authorization server (shared by all its nodes through the store)."""

    def __init__(
        self, store: OAuthStore, server_keys: ServerKeys, clock: Clock, config: OAuthConfig
    ) -> None:
        self._store = store
        self._server_keys = server_keys
        self._clock = clock
        self._config = config
        self._opened: dict[str, Key] = {}
        self._lock = threading.Lock()

    # -- signing ---------------------------------------------------------------------------
    def current(self) -> SigningKey:
        """The key to sign with now, making the next one first when this one is due.

        Raises TokenServiceUnavailable when the server key is not durable: a key sealed
        under a key of this process only would be lost at its restart.
        """
        self._require_durable()
        records = self._store.signing_keys()
        newest = records[0] if records else None
        if newest is None or self._due(newest):
            newest = self._replace(newest, actor=None)
        return self._open(newest)

    def rotate(self, *, actor: str | None = None) -> SigningKeyRecord:
        """Replace the current key now (``keyhive oauth rotate-key``); the old one stays
        published until its tokens have expired. If another node rotated at the same
        moment, its key is the new one and is returned."""
        self._require_durable()
        records = self._store.signing_keys()
        return self._replace(records[0] if records else None, actor=actor)

    def _require_durable(self) -> None:
        if not self._server_keys.durable:
            raise TokenServiceUnavailable(
                "no server key is configured (KEYHIVE_PEPPERS, or the key file `keyhive init` "
                "writes beside a SQLite database): signing keys would not survive a restart"
            )

    def _due(self, record: SigningKeyRecord) -> bool:
        """Whether the newest key must be replaced before it signs again."""
        return (
            record.created_at + self._config.rotation <= self._clock.now()
            or record.alg != self._config.algorithm
            or record.server_key_id not in self._server_keys
        )

    def _replace(self, newest: SigningKeyRecord | None, *, actor: str | None) -> SigningKeyRecord:
        for _ in range(_ATTEMPTS):
            generation = newest.generation + 1 if newest is not None else 1
            record, private = self._new_record(generation)
            event = self._event(actor, record, newest)
            if self._store.add_signing_key(record, event):
                with self._lock:
                    self._opened[record.kid] = private
                log.info("oauth signing key %s (generation %d) is current", record.kid, generation)
                self.prune()
                return record
            # Another node inserted this generation first: its key is the current one.
            records = self._store.signing_keys()
            if records and (newest is None or records[0].generation > newest.generation):
                return records[0]
            newest = records[0] if records else None
        raise TokenServiceUnavailable("could not store a new signing key")  # pragma: no cover

    def _new_record(self, generation: int) -> tuple[SigningKeyRecord, Key]:
        alg = self._config.algorithm
        private = jose.generate(alg)
        kid = jose.kid_of(private)
        server_key_id = self._server_keys.newest_id
        record = SigningKeyRecord(
            kid=kid,
            generation=generation,
            alg=alg,
            public_jwk=jose.public_jwk(private, kid, alg),
            private_sealed=seal.seal(
                self._server_keys, server_key_id, kid, jose.private_bytes(private)
            ),
            server_key_id=server_key_id,
            created_at=self._clock.now(),
        )
        return record, private

    def _event(
        self, actor: str | None, record: SigningKeyRecord, replaced: SigningKeyRecord | None
    ) -> AuditEvent:
        """The audit event of a new key: public facts only (never key material)."""

        def facts(r: SigningKeyRecord) -> dict[str, Any]:
            return {
                "kid": r.kid,
                "alg": r.alg,
                "generation": r.generation,
                "server_key_id": r.server_key_id,
            }

        return AuditEvent(
            id=None,
            at=record.created_at,
            actor=actor or "keyhive (scheduled rotation)",
            action="oauth.key.create",
            target_type=KEY_TARGET,
            target_id=record.kid,
            before=facts(replaced) if replaced is not None else None,
            after=facts(record),
        )

    def _open(self, record: SigningKeyRecord) -> SigningKey:
        with self._lock:
            private = self._opened.get(record.kid)
        if private is None:
            try:
                plain = seal.unseal(
                    self._server_keys, record.server_key_id, record.kid, record.private_sealed
                )
            except ConfigurationError as exc:
                raise TokenServiceUnavailable(str(exc)) from None
            private = jose.load_private(plain)
            with self._lock:
                self._opened[record.kid] = private
        return SigningKey(record, private)

    # -- publishing ------------------------------------------------------------------------
    def published(self, now: datetime | None = None) -> list[SigningKeyRecord]:
        """Keys in the JWKS, newest first: the current one, and each replaced one until
        its successor has been current for a token lifetime plus clock skew."""
        records = self._store.signing_keys()
        return _live(records, now or self._clock.now(), self._config)

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The JSON Web Key Set (RFC 7517) of the published keys."""
        return {"keys": [dict(r.public_jwk) for r in self.published()]}

    def prune(self) -> int:
        """Delete keys that left the JWKS (their sealed private parts go with them)."""
        records = self._store.signing_keys()
        live = {r.kid for r in _live(records, self._clock.now(), self._config)}
        gone = [r.kid for r in records if r.kid not in live]
        if gone:
            self._store.delete_signing_keys(gone)
            with self._lock:
                for kid in gone:
                    self._opened.pop(kid, None)
        return len(gone)


def _live(
    records: list[SigningKeyRecord], now: datetime, config: OAuthConfig
) -> list[SigningKeyRecord]:
    live = records[:1]
    for successor, record in itertools.pairwise(records):
        if successor.created_at + config.retire_after > now:
            live.append(record)
    return live
