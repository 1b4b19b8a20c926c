"""The hot routes when the database is gone: a 503 problem with Retry-After, not a bare 500."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from keyhive import FrozenClock, KeyHive, Settings
from keyhive.server import create_app

from .helpers import assert_problem, bearer

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("route", ["/v1/auth", "/v1/verify"])
async def test_hot_routes_answer_503_when_the_database_is_gone(
    tmp_path: Path, settings: Settings, clock: FrozenClock, route: str
) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    url = f"sqlite:///{folder / 'k.db'}"
    with KeyHive(url, settings=settings, clock=clock) as setup:
        issued = setup.bootstrap_admin()
        assert issued is not None
        token = issued.token
    hive = KeyHive(url, settings=settings, clock=clock)  # nothing cached yet
    transport = httpx.ASGITransport(app=create_app(hive))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        hive.store.close()
        shutil.rmtree(folder)
        if route == "/v1/auth":
            r = await client.get(route, headers=bearer(token))
        else:
            r = await client.post(route, json={"token": token}, headers=bearer(token))
        problem = assert_problem(r, 503)
        assert problem["type"] == "urn:keyhive:problem:storage-unavailable"
        assert r.headers["retry-after"] == "1"
        assert token not in r.text
    hive.close()
