"""SQLite first-verification reads keep a connection per thread (storage/pinned.py).

The connection is taken from the pool once per thread, so reads stop paying the pool's
checkout and reset; these tests hold the bounds that make that safe: at most ``limit``
threads hold one, a thread's connection goes when the thread does, a connection that
raised is replaced, and closing the store closes them all.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from keyhive.core.errors import StorageUnavailable
from keyhive.core.model import Client, Secret, StoredSecret
from keyhive.storage.sql import SqlStore

T0 = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'pinned.db'}")
    store.migrate()
    with store.transaction() as tx:
        tx.insert_client(Client("c1", "one", None, {}, True, T0))
        tx.insert_secret(StoredSecret(Secret("S" * 16, "c1", "t", ("a:b",), "kh", T0), "h", "d"))
    yield store
    store.close()


def _checkouts(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts connections taken from the pool."""
    taken: list[int] = []
    real = store.engine.raw_connection

    def counted() -> Any:
        taken.append(1)
        return real()

    monkeypatch.setattr(store.engine, "raw_connection", counted)
    return taken


def _in_threads(count: int, work: Callable[[], None]) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_each_thread_takes_one_connection_and_reads_right(
    sqlite: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = _checkouts(sqlite, monkeypatch)

    def reads() -> None:
        for _ in range(20):
            found = sqlite.read_lookup("s", "S" * 16)
            assert found.client is not None and found.client.client_id == "c1"
            assert sqlite.read_lookup("s", "Z" * 16).client is None

    reads()
    assert len(taken) == 1
    _in_threads(3, reads)
    assert len(taken) == 4


def test_past_the_limit_threads_read_through_the_pool(
    sqlite: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sqlite._pinned is not None
    monkeypatch.setattr(sqlite._pinned, "_limit", 2)
    barrier = threading.Barrier(5)

    def reads() -> None:
        barrier.wait()  # all five threads alive at once
        for _ in range(5):
            assert sqlite.read_lookup("s", "S" * 16).client is not None
        barrier.wait()

    _in_threads(5, reads)
    assert len(sqlite._pinned._all) <= 2


def test_a_thread_s_connection_is_closed_when_the_thread_is_gone(sqlite: SqlStore) -> None:
    pinned = sqlite._pinned
    assert pinned is not None
    _in_threads(3, lambda: sqlite.read_lookup("s", "S" * 16) and None)
    gc.collect()
    assert pinned._all == {}


def test_a_connection_that_raised_is_replaced(sqlite: SqlStore) -> None:
    assert sqlite.read_lookup("s", "S" * 16).client is not None
    pinned = sqlite._pinned
    assert pinned is not None
    own = pinned.get()
    own.execute("DROP TABLE secret_roles")  # what an unmigrated database looks like
    with pytest.raises(StorageUnavailable):
        sqlite.read_lookup("s", "S" * 16)
    assert pinned.get() is not own  # dropped: a fresh connection next time


def test_closing_the_store_closes_every_thread_s_connection(sqlite: SqlStore) -> None:
    pinned = sqlite._pinned
    assert pinned is not None
    keep = threading.Event()
    done = threading.Event()

    def holder() -> None:
        sqlite.read_lookup("s", "S" * 16)
        done.set()
        keep.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    assert done.wait(5)
    sqlite.read_lookup("s", "S" * 16)
    held = list(pinned._all.values())
    assert len(held) == 2
    sqlite.close()
    keep.set()
    thread.join()
    for connection in held:
        with pytest.raises(Exception, match="closed"):
            connection.execute("SELECT 1")
    assert pinned.get() is None  # a closed store pins nothing, not even a closed one
