"""What only the PostgreSQL store must do: migrate safely when nodes start together."""

from __future__ import annotations

import subprocess
import sys

import pytest

from keyhive.core.errors import StorageUnavailable
from keyhive.storage import open_store
from keyhive.storage.sql import SqlStore
from tests.infra import PostgresServer, free_port

# Each child connects, then waits for the go signal on stdin, so the migrations overlap.
_MIGRATE = """
import sys
from keyhive.storage.sql import SqlStore
store = SqlStore(sys.argv[1])
store.engine.connect().close()
print("ready", flush=True)
sys.stdin.readline()
store.migrate()
"""


def test_migrate_creates_the_schema_once(pg_url: str) -> None:
    store = open_store(pg_url)
    assert isinstance(store, SqlStore)
    assert store.schema_version() is None
    store.migrate()
    head = store.schema_version()
    store.migrate()
    assert head == SqlStore.head_revision() and store.schema_version() == head
    store.close()


def test_nodes_starting_together_all_migrate(postgres: PostgresServer) -> None:
    """Three processes migrate one fresh database at once: each succeeds, the schema is whole."""
    url = postgres.url(postgres.create_database())
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _MIGRATE, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        errors = [proc.communicate(timeout=60)[1] for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    assert [proc.returncode for proc in procs] == [0, 0, 0], errors
    store = SqlStore(url)
    assert store.schema_version() == SqlStore.head_revision()
    assert store.list_clients() == []
    store.close()


def test_unreachable_postgres_is_storage_unavailable() -> None:
    store = SqlStore(f"postgresql+psycopg://keyhive@127.0.0.1:{free_port()}/nothing")
    with pytest.raises(StorageUnavailable):
        store.get_client("x")
    store.close()


def test_unreachable_postgres_is_unavailable_to_the_lookup_read() -> None:
    store = SqlStore(f"postgresql+psycopg://keyhive@127.0.0.1:{free_port()}/nothing")
    with pytest.raises(StorageUnavailable):
        store.read_lookup("s", "S" * 16)
    store.close()


def test_the_lookup_read_survives_its_connections_being_dropped(pg_url: str) -> None:
    """The lookup read uses pooled DBAPI connections directly: one the server dropped
    must not be handed out again (the pool's pre-ping replaces it, and a read that
    fails on one invalidates it)."""
    store = SqlStore(pg_url)
    store.migrate()
    assert store.read_lookup("s", "S" * 16).secrets == []
    with store.engine.connect() as admin:
        admin.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    for _ in range(3):
        assert store.read_lookup("s", "S" * 16).secrets == []
    store.close()
