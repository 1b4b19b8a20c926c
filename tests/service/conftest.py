"""Fixtures of the service tests: two KeyHive instances on one database, for races."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keyhive import KeyHive, Settings


@pytest.fixture(params=["sqlite", "postgres"])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[KeyHive, KeyHive]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'keyhive.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    settings = Settings(hashing_profile="cheapest")
    first = KeyHive(url, settings=settings, watch_changes=False)
    second = KeyHive(url, settings=settings, watch_changes=False)
    try:
        yield first, second
    finally:
        first.close()
        second.close()
