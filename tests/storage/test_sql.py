"""What only the SQL store does: migrations, durability settings, bad URLs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from keyhive.core.errors import ConfigurationError, StorageUnavailable
from keyhive.storage import open_store
from keyhive.storage.memory import MemoryStore
from keyhive.storage.sql import SqlStore


def test_migrate_is_idempotent_and_versioned(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'k.db'}")
    assert store.schema_version() is None
    store.migrate()
    first = store.schema_version()
    store.migrate()
    assert first is not None and store.schema_version() == first
    store.close()


def test_sqlite_runs_in_wal_with_full_sync(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'k.db'}")
    store.migrate()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()
    tables = {
        row[0]
        for row in sqlite3.connect(tmp_path / "k.db").execute(
            "SELECT name FROM sqlite_master WHERE type='table'"
        )
    }
    assert {"clients", "secrets", "secret_scopes", "audit_events", "alembic_version"} <= tables


@pytest.mark.parametrize("url", ["mysql://x/y", "not a url", "oracle://"])
def test_unsupported_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError):
        open_store(url)


def test_memory_url() -> None:
    assert isinstance(open_store("memory://"), MemoryStore)


def test_unreachable_database_is_storage_unavailable(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'missing-dir' / 'k.db'}")
    with pytest.raises(StorageUnavailable):
        store.get_client("x")


def test_an_unreachable_database_is_unavailable_to_the_lookup_read_too(tmp_path: Path) -> None:
    """The first verification's read runs on the DBAPI connection itself; it must still
    answer StorageUnavailable, not the driver's error."""
    store = SqlStore(f"sqlite:///{tmp_path / 'missing-dir' / 'k.db'}")
    with pytest.raises(StorageUnavailable):
        store.read_lookup("s", "S" * 16)


def test_a_lookup_read_answers_an_unmigrated_database_as_other_reads_do(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'k.db'}")
    with pytest.raises(StorageUnavailable):
        store.get_client("x")
    with pytest.raises(StorageUnavailable):
        store.read_lookup("s", "S" * 16)


def test_only_sqlite_in_wal_mode_reads_count_as_local(tmp_path: Path) -> None:
    """A verification reads a local store on the event loop (no hop to a worker): the
    memory store, and SQLite only if its connections really are in WAL mode."""
    assert SqlStore(f"sqlite:///{tmp_path / 'k.db'}").local_reads is True
    assert MemoryStore().local_reads is True
    assert SqlStore("postgresql+psycopg://keyhive@127.0.0.1:1/none").local_reads is False
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    rollback_journal = SqlStore(url, engine=sa.create_engine(url))  # no WAL pragma
    assert rollback_journal.local_reads is False
    unreachable = SqlStore(f"sqlite:///{tmp_path / 'missing-dir' / 'k.db'}")
    assert unreachable.local_reads is False
