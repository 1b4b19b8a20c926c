"""The service settles its heap once started, when it owns the process (issue 9).

A first verification keeps the record it read, so a cold start or a wave of guesses at
new ids grows the heap; without the freeze, each full collection that growth triggers
walks every object imported at start (docs/benchmarks.md part e).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from keyhive import KeyHive
from keyhive.server import create_app
from keyhive.server.app import create_app_from_env
from keyhive.server.heap import settle


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Each test starts and ends with nothing frozen (the test process is shared)."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_settle_freezes_what_is_alive_and_leaves_new_objects_collectable(
    unfrozen: None,
) -> None:
    frozen = settle()
    assert frozen == gc.get_freeze_count() > 0
    assert gc.get_count()[2] == 0  # the oldest generation is left empty
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1  # a cycle made after the freeze is still collected


def test_keyhive_serve_app_settles_its_heap_once_started(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYHIVE_DATABASE_URL", "memory://")
    monkeypatch.setenv("KEYHIVE_HASHING_PROFILE", "cheapest")
    app = create_app_from_env()
    assert gc.get_freeze_count() == 0  # building the app freezes nothing
    with TestClient(app) as client:
        assert gc.get_freeze_count() > 0
        assert client.get("/healthz").status_code == 200


def test_an_app_mounted_in_someone_elses_process_leaves_their_heap_alone(
    unfrozen: None, hive: KeyHive
) -> None:
    with TestClient(create_app(hive)) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() == 0
