"""Migration 0007 builds the webhook tables exactly as storage/schema.py describes them."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from keyhive.storage import schema
from keyhive.storage.sql import SqlStore

WEBHOOK_TABLES = {"webhooks", "webhook_events", "webhook_deliveries"}


def _differences(store: SqlStore) -> list[object]:
    with store.engine.connect() as conn:
        found = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    return [d for d in found if WEBHOOK_TABLES & set(_tables(d)) or "expires_at" in str(d)]


def _tables(diff: object) -> list[str]:
    items = diff if isinstance(diff, list) else [diff]
    names = []
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            names.append(str(getattr(part, "name", "")))
            names.append(str(getattr(getattr(part, "table", None), "name", "")))
    return names


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_migration_matches_the_schema(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'schema.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    store = SqlStore(url)
    store.migrate()
    try:
        assert _differences(store) == []
    finally:
        store.close()
