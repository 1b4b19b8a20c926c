"""Fixtures shared by every test package: a frozen clock and hives on memory and SQLite.

Hashing uses the ``cheapest`` profile (tests only) unless a test asks for real costs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keyhive import FrozenClock, KeyHive, Settings
from tests.infra import own_redis, pg_url, postgres, redis_server, redis_url

__all__ = [
    "own_redis",
    "pg_url",
    "postgres",
    "redis_server",
    "redis_url",
]  # fixtures from tests/infra.py

VECTORS = Path(__file__).resolve().parent / "vectors"


def load_vectors(name: str) -> Any:
    """A vector file: the copy in tests/vectors (committed), identical to ../shared/vectors."""
    return json.loads((VECTORS / name).read_text())


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """Put os.environ back after every test. ``keyhive serve`` hands its settings to
    uvicorn's workers through the environment, so a CLI test that runs it in process
    would otherwise leave KEYHIVE_* behind for every later test and the servers they
    start (a KEYHIVE_REDIS_URL of an unreachable host made later servers slow)."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings() -> Settings:
    return Settings(hashing_profile="cheapest")


@pytest.fixture
def hive(clock: FrozenClock, settings: Settings) -> Iterator[KeyHive]:
    """A KeyHive on the memory store."""
    h = KeyHive("memory://", settings=settings, clock=clock)
    yield h
    h.close()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'keyhive.db'}"


@pytest.fixture
def sqlite_hive(clock: FrozenClock, settings: Settings, db_url: str) -> Iterator[KeyHive]:
    """A KeyHive on a fresh SQLite file."""
    h = KeyHive(db_url, settings=settings, clock=clock)
    yield h
    h.close()
