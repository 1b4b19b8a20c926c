"""Refusals for throttled ids are answered late (a tarpit); other answers are not."""

from __future__ import annotations

import time

import httpx
import pytest

from keyhive import KeyHive
from keyhive.server import create_app, hot
from tests.service.test_verify import forged

pytestmark = pytest.mark.anyio


async def _get(app: object, token: str) -> int:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://k.test") as http:
        answer = await http.get("/v1/auth", headers={"Authorization": f"Bearer {token}"})
        return answer.status_code


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Records the tarpit's sleeps instead of waiting them out."""
    seen: list[float] = []

    async def record(delay: float) -> None:
        seen.append(delay)

    monkeypatch.setattr(hot.asyncio, "sleep", record)
    return seen


@pytest.fixture
def attacked(hive: KeyHive) -> tuple[str, str]:
    """A legitimate token, cached, and a forged one for the same id, now throttled."""
    issued = hive.issue_secret(hive.create_client("c").client_id)
    assert hive.verify(issued.token).valid
    wrong = forged(issued.token)
    while hive.verify(wrong).retry_after is None:
        pass
    return issued.token, wrong


async def test_throttled_refusals_are_delayed(
    hive: KeyHive, attacked: tuple[str, str], sleeps: list[float]
) -> None:
    good, wrong = attacked
    app = create_app(hive, tarpit=0.3)
    assert await _get(app, wrong) == 401
    assert sleeps == [0.3]
    assert await _get(app, good) == 200, "cached legitimate traffic is not delayed"
    assert await _get(app, "kh_garbage") == 401, "plain refusals are not delayed"
    assert sleeps == [0.3]


async def test_tarpit_really_waits(hive: KeyHive, attacked: tuple[str, str]) -> None:
    _good, wrong = attacked
    start = time.monotonic()
    assert await _get(create_app(hive, tarpit=0.2), wrong) == 401
    assert time.monotonic() - start >= 0.2


async def test_tarpit_can_be_turned_off(
    hive: KeyHive, attacked: tuple[str, str], sleeps: list[float]
) -> None:
    _good, wrong = attacked
    assert await _get(create_app(hive, tarpit=0), wrong) == 401
    assert sleeps == []
