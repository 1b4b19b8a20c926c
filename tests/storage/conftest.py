"""Every Store implementation, for the contract suite: memory, SQLite and PostgreSQL.

PostgreSQL tests share one migrated database per session and empty it before each
test (TRUNCATE is much faster than a new database per test).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keyhive.storage import MemoryStore, Store
from keyhive.storage.sql import SqlStore
from tests.infra import PostgresServer

_TABLES = (
    "usage_buckets, audit_events, secret_scopes, secret_roles, secrets, clients, roles, owners, "
    "oauth_signing_keys, oauth_revoked_tokens, webhook_deliveries, webhook_events, webhooks, "
    "portal_sessions"
)


@pytest.fixture(scope="session")
def contract_pg_url(postgres: PostgresServer) -> str:
    url = postgres.url(postgres.create_database("contract"))
    store = SqlStore(url)
    store.migrate()
    store.close()
    return url


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    impl: Store
    if request.param == "memory":
        impl = MemoryStore()
    elif request.param == "sqlite":
        impl = SqlStore(f"sqlite:///{tmp_path / 'contract.db'}")
    else:
        url = request.getfixturevalue("contract_pg_url")
        impl = SqlStore(url)
        with impl.engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {_TABLES} RESTART IDENTITY")
    impl.migrate()
    yield impl
    impl.close()
