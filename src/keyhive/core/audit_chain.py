"""A tamper-evident audit log: every event's hash covers its content and the hash before it.

The hash is SHA-256 over a canonical JSON document of the event as it is stored: its
id, time (UTC, microseconds), actor, action, target, before and after, and the
previous event's hash. Covering the id pins each event to its place, so renumbering
shows; covering the previous hash links the events, so a removed or inserted event
breaks the link of the one after it. Events written before the chain existed carry
no hash: the chain starts at the first event that has one.

Anyone who can write the database can also recompute every hash after an event they
changed. What exposes that is a head (the newest id and hash) kept somewhere else:
:class:`ChainWalker` checks the chain against such an anchor.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum
from typing import Any, Final

from keyhive.core.model import AuditEvent

#: Bumped if what the hash covers ever changes (it is part of the hashed document).
CHAIN_VERSION: Final = 1
HASH_LENGTH: Final = 64
_RECENT: Final = 256  # hashes remembered to tell an inserted event from a removed one


def canonical(event: AuditEvent, prev_hash: str | None) -> bytes:
    """The bytes an event's hash is taken over: sorted keys, no spaces, ASCII only."""
    if event.id is None:
        raise ValueError("an event is hashed once it has its id")
    document: dict[str, Any] = {
        "v": CHAIN_VERSION,
        "id": event.id,
        "at": event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": event.actor,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "before": event.before,
        "after": event.after,
        "prev": prev_hash,
    }
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return text.encode("ascii")


def seal(event: AuditEvent, prev_hash: str | None) -> str:
    """The hash of ``event`` following ``prev_hash`` (None: the first event of the chain)."""
    return hashlib.sha256(canonical(event, prev_hash)).hexdigest()


@dataclass(frozen=True, slots=True)
class SealedEvent:
    """An audit event as stored, with its hash and its predecessor's (None before the chain)."""

    event: AuditEvent
    hash: str | None
    prev_hash: str | None

    @property
    def id(self) -> int:
        assert self.event.id is not None
        return self.event.id


@dataclass(frozen=True, slots=True)
class Anchor:
    """A head recorded elsewhere (``GET /v1/audit/head``): event ``id`` had ``hash``."""

    id: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """``ID:HASH`` as ``keyhive audit verify --anchor`` takes it; ValueError if not."""
        ident, sep, digest = text.partition(":")
        digest = digest.strip().lower()
        if not sep or not ident.strip().isdigit() or len(digest) != HASH_LENGTH:
            raise ValueError("an anchor is ID:HASH, the id and hash GET /v1/audit/head gave")
        try:
            bytes.fromhex(digest)
        except ValueError:
            raise ValueError("the hash of an anchor is 64 hexadecimal characters") from None
        return cls(int(ident), digest)


class BreakKind(StrEnum):
    CHANGED = "changed"
    REMOVED = "removed"
    INSERTED = "inserted"


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first place where the log is not what was written.

    ``event_id`` names the event that was changed or inserted, or, for a removal, the
    first event after the gap (``after_id`` is the last one before it, if any).
    """

    kind: BreakKind
    event_id: int
    detail: str
    after_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "event_id": self.event_id,
            "after_id": self.after_id,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of walking the whole log."""

    verified: int  # hashed events whose hash and link held
    unhashed: int  # events from before the chain began
    first_id: int | None  # the chain's first event
    head: SealedEvent | None  # the newest event that checked out
    broken: ChainBreak | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None

    def to_dict(self) -> dict[str, Any]:
        head = self.head
        return {
            "ok": self.ok,
            "verified": self.verified,
            "unhashed": self.unhashed,
            "first_id": self.first_id,
            "head": {"id": head.id, "hash": head.hash} if head is not None else None,
            "broken": self.broken.to_dict() if self.broken is not None else None,
        }


class ChainWalker:
    """Checks events fed in id order; stops at the first break.

    Feed every event (:meth:`add` returns False once broken), then call :meth:`report`.
    """

    def __init__(self, anchor: Anchor | None = None) -> None:
        self._anchor = anchor
        self._anchor_seen = False
        self._verified = 0
        self._unhashed = 0
        self._first_id: int | None = None
        self._previous: SealedEvent | None = None
        self._recent: deque[tuple[int, str]] = deque(maxlen=_RECENT)
        self._broken: ChainBreak | None = None

    def add(self, sealed: SealedEvent) -> bool:
        """Check one event; False once the chain is broken (there or before)."""
        if self._broken is None:
            self._broken = self._check(sealed)
            if self._broken is None:
                self._previous = sealed
                if sealed.hash is not None:
                    self._recent.append((sealed.id, sealed.hash))
        return self._broken is None

    def _check(self, sealed: SealedEvent) -> ChainBreak | None:
        ident, previous = sealed.id, self._previous
        before = previous.id if previous is not None else None
        if sealed.hash is None:
            if self._first_id is None:
                self._unhashed += 1
                return self._against_anchor(sealed)
            return ChainBreak(
                BreakKind.INSERTED,
                ident,
                f"event {ident} has no hash although the chain began at event "
                f"{self._first_id}: it was inserted, or its hash was erased",
            )
        if seal(sealed.event, sealed.prev_hash) != sealed.hash:
            return ChainBreak(
                BreakKind.CHANGED, ident, f"event {ident} was changed: its hash no longer fits it"
            )
        linked = previous.hash if previous is not None else None
        if sealed.prev_hash != linked:
            return self._broken_link(sealed, before)
        if self._first_id is None:
            self._first_id = ident
        self._verified += 1
        return self._against_anchor(sealed)

    def _broken_link(self, sealed: SealedEvent, before: int | None) -> ChainBreak:
        """The event is intact but does not follow its predecessor: tell insert from removal."""
        ident = sealed.id
        recent = list(self._recent)
        for index, (known_id, known_hash) in enumerate(recent):
            if known_hash == sealed.prev_hash and index + 1 < len(recent):
                inserted = recent[index + 1][0]
                return ChainBreak(
                    BreakKind.INSERTED,
                    inserted,
                    f"event {inserted} was inserted: event {ident} follows event {known_id}",
                    after_id=known_id,
                )
        if before is None:
            detail = (
                f"event {ident} links to an earlier event that is gone: the events before it "
                "were removed"
            )
        else:
            detail = (
                f"an event between event {before} and event {ident} was removed (or event "
                f"{before} was altered and its hash recomputed): event {ident} links to an "
                "event that is gone"
            )
        return ChainBreak(BreakKind.REMOVED, ident, detail, after_id=before)

    def _against_anchor(self, sealed: SealedEvent) -> ChainBreak | None:
        anchor = self._anchor
        if anchor is None or sealed.id != anchor.id:
            return None
        self._anchor_seen = True
        if sealed.hash != anchor.hash:
            return ChainBreak(
                BreakKind.CHANGED,
                sealed.id,
                f"event {sealed.id} does not have the anchored hash: the log was rewritten "
                "from there or before",
            )
        return None

    def report(self) -> ChainReport:
        broken = self._broken
        anchor = self._anchor
        if broken is None and anchor is not None and not self._anchor_seen:
            last = self._previous.id if self._previous is not None else 0
            where = "the log ends at event " + str(last) if last else "the log is empty"
            broken = ChainBreak(
                BreakKind.REMOVED,
                anchor.id,
                f"the anchored event {anchor.id} is missing ({where}): events were removed",
                after_id=last or None,
            )
        return ChainReport(
            verified=self._verified,
            unhashed=self._unhashed,
            first_id=self._first_id,
            head=self._previous,
            broken=broken,
        )
