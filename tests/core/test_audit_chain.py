"""The audit chain's walker: an intact chain passes; each kind of tampering is named."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from keyhive.core.audit_chain import (
    Anchor,
    BreakKind,
    ChainReport,
    ChainWalker,
    SealedEvent,
    canonical,
    seal,
)
from keyhive.core.model import AuditEvent

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def event(ident: int, **changes: object) -> AuditEvent:
    base = AuditEvent(
        id=ident,
        at=T0 + timedelta(seconds=ident, microseconds=ident),
        actor="cli:ops",
        action="secret.revoke",
        target_type="secret",
        target_id=f"s{ident:015d}",
        before={"revoked_reason": None},
        after={"revoked_reason": "leaked", "scopes": ["a:b"]},
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def chain(
    count: int, start: int = 1, prev: str | None = None, step: int = 1, **changes: object
) -> list[SealedEvent]:
    sealed = []
    for ident in range(start, start + count * step, step):
        item = event(ident, **changes)
        digest = seal(item, prev)
        sealed.append(SealedEvent(item, digest, prev))
        prev = digest
    return sealed


def walk(events: list[SealedEvent], anchor: Anchor | None = None) -> ChainReport:
    walker = ChainWalker(anchor)
    for item in events:
        walker.add(item)
    return walker.report()


def test_an_intact_chain_passes() -> None:
    events = chain(5)
    report = walk(events)
    assert report.ok
    assert (report.verified, report.unhashed, report.first_id) == (5, 0, 1)
    assert report.head == events[-1]


def test_an_empty_log_passes_with_nothing_verified() -> None:
    report = walk([])
    assert report.ok and report.verified == 0 and report.head is None


def test_the_hash_covers_every_field_and_the_link() -> None:
    item = event(3)
    digest = seal(item, "p" * 64)
    for field, value in [
        ("id", 4),
        ("at", item.at + timedelta(microseconds=1)),
        ("actor", "cli:mallory"),
        ("action", "secret.issue"),
        ("target_type", "client"),
        ("target_id", "other"),
        ("before", None),
        ("after", {"revoked_reason": "leaked", "scopes": ["a:c"]}),
    ]:
        assert seal(dataclasses.replace(item, **{field: value}), "p" * 64) != digest, field
    assert seal(item, "q" * 64) != digest
    assert seal(item, None) != digest


def test_the_hashed_form_is_canonical() -> None:
    item = event(1, after={"b": 1, "a": [1, "é"]})
    same = event(1, after={"a": [1, "é"], "b": 1})
    assert canonical(item, None) == canonical(same, None)
    assert canonical(item, None).isascii()
    shifted = dataclasses.replace(item, at=item.at.astimezone(UTC).replace(tzinfo=UTC))
    assert seal(shifted, None) == seal(item, None)


def test_a_changed_event_is_named() -> None:
    events = chain(5)
    events[2] = dataclasses.replace(events[2], event=event(3, actor="cli:mallory"))
    report = walk(events)
    assert report.broken is not None
    assert (report.broken.kind, report.broken.event_id) == (BreakKind.CHANGED, 3)
    assert report.verified == 2


def test_a_removed_event_is_named_by_its_neighbours() -> None:
    events = chain(5)
    del events[2]
    report = walk(events)
    assert report.broken is not None
    assert report.broken.kind is BreakKind.REMOVED
    assert (report.broken.after_id, report.broken.event_id) == (2, 4)
    assert "between event 2 and event 4" in report.broken.detail


def test_removing_the_first_events_is_seen() -> None:
    report = walk(chain(5)[2:])
    assert report.broken is not None
    assert (report.broken.kind, report.broken.event_id) == (BreakKind.REMOVED, 3)


def test_an_inserted_event_with_a_forged_hash_is_named() -> None:
    events = chain(5, start=10, step=10)  # ids 10 to 50, with gaps as PostgreSQL leaves them
    # Inserted as id 25 and hashed correctly onto event 20: only event 30's link shows it.
    [forged] = chain(1, start=25, prev=events[1].hash, actor="cli:mallory")
    report = walk([*events[:2], forged, *events[2:]])
    assert report.broken is not None
    assert report.broken.kind is BreakKind.INSERTED
    assert (report.broken.event_id, report.broken.after_id) == (25, 20)


def test_an_event_without_a_hash_after_the_chain_began_is_inserted() -> None:
    events = chain(3)
    events.insert(2, SealedEvent(event(3), None, None))
    report = walk(events)
    assert report.broken is not None
    assert (report.broken.kind, report.broken.event_id) == (BreakKind.INSERTED, 3)


def test_events_from_before_the_chain_are_counted_not_checked() -> None:
    legacy = [SealedEvent(event(i), None, None) for i in (1, 2, 3)]
    report = walk([*legacy, *chain(2, start=4)])
    assert report.ok
    assert (report.unhashed, report.verified, report.first_id) == (3, 2, 4)


def test_an_anchor_that_still_holds_passes() -> None:
    events = chain(5)
    assert walk(events, Anchor(3, events[2].hash or "")).ok


def test_a_log_rewritten_from_an_anchored_event_fails() -> None:
    events = chain(5)
    anchor = Anchor(3, events[2].hash or "")
    rewritten = [*events[:2], *chain(3, start=3, prev=events[1].hash, actor="cli:mallory")]
    assert walk(rewritten).ok, "without an anchor a rewrite of every later hash is invisible"
    report = walk(rewritten, anchor)
    assert report.broken is not None
    assert (report.broken.kind, report.broken.event_id) == (BreakKind.CHANGED, 3)


def test_a_log_cut_short_before_the_anchor_fails() -> None:
    events = chain(5)
    report = walk(events[:3], Anchor(5, events[4].hash or ""))
    assert report.broken is not None
    assert (report.broken.kind, report.broken.event_id) == (BreakKind.REMOVED, 5)


@pytest.mark.parametrize(
    "text", ["", "12", "x:" + "a" * 64, "12:" + "a" * 63, "12:" + "g" * 64, ":" + "a" * 64]
)
def test_a_malformed_anchor_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"anchor|hash"):
        Anchor.parse(text)


def test_an_anchor_is_read_as_the_head_endpoint_writes_it() -> None:
    assert Anchor.parse("12:" + "AB" * 32) == Anchor(12, "ab" * 32)
