"""Every Store implementation, for the contract suite (PostgreSQL joins when available)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keyhive.storage import MemoryStore, Store
from keyhive.storage.sql import SqlStore


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    impl: Store
    if request.param == "memory":
        impl = MemoryStore()
    else:
        impl = SqlStore(f"sqlite:///{tmp_path / 'contract.db'}")
    impl.migrate()
    yield impl
    impl.close()
