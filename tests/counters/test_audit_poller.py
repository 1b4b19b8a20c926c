"""The audit-log poller on PostgreSQL, where audit ids may become visible out of order."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from keyhive.core.model import AuditEvent
from keyhive.counters.changes import AuditPoller
from keyhive.storage.schema import audit_events
from keyhive.storage.sql import SqlStore


class Ticker:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(pg_url: str) -> Iterator[SqlStore]:
    impl = SqlStore(pg_url)
    impl.migrate()
    yield impl
    impl.close()


def _append(store: SqlStore, target: str) -> None:
    with store.transaction() as tx:
        tx.append_audit(_event(target))


def _event(target: str) -> AuditEvent:
    return AuditEvent(None, datetime.now(UTC), "t", "secret.revoke", "secret", target, None, None)


def test_a_change_that_commits_after_a_newer_one_is_still_seen(store: SqlStore) -> None:
    """The store's own appends are serialised (the audit chain's lock), so ids commit in
    order; a row written around it (an older node, a manual insert) may still not."""
    evicted: list[str] = []
    poller = AuditPoller(store, lambda _kind, ident: evicted.append(ident))
    holding, release = threading.Event(), threading.Event()

    def slow_revoke() -> None:
        event = _event("late")
        with store.engine.begin() as conn:  # takes the lower id, outside the chain's lock
            conn.execute(
                audit_events.insert().values(
                    at=event.at,
                    actor=event.actor,
                    action=event.action,
                    target_type=event.target_type,
                    target_id=event.target_id,
                )
            )
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=slow_revoke)
    thread.start()
    try:
        assert holding.wait(10)
        _append(store, "early")  # takes the higher id and commits first
        assert poller.poll() == 1
        assert evicted == ["early"]
    finally:
        release.set()
        thread.join()
    assert poller.poll() == 1
    assert evicted == ["early", "late"]
    assert poller.poll() == 0 and poller.waiting == 0, "each change is evicted once"


def test_a_rolled_back_id_is_given_up_after_the_wait(store: SqlStore) -> None:
    ticker = Ticker()
    evicted: list[str] = []
    poller = AuditPoller(
        store, lambda _kind, ident: evicted.append(ident), gap_wait=5.0, monotonic=ticker
    )
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.append_audit(_event("never"))  # consumes an id, then rolls back
        raise RuntimeError("abort")
    _append(store, "after-gap")
    assert poller.poll() == 1 and poller.waiting == 1
    ticker.now = 4.0
    assert poller.poll() == 0 and poller.waiting == 1, "still waiting for the missing id"
    ticker.now = 6.0
    assert poller.poll() == 0 and poller.waiting == 0
    _append(store, "next")
    assert poller.poll() == 1
    assert evicted == ["after-gap", "next"]
