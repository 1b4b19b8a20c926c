"""An unexpected error on a hot route is a logged problem+json 500, never a bare drop."""

from __future__ import annotations

import httpx
import pytest

from keyhive import KeyHive
from keyhive.server import create_app

from .helpers import assert_problem, bearer

pytestmark = pytest.mark.anyio


async def test_a_bug_on_the_hot_path_answers_a_problem(
    hive: KeyHive, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    issued = hive.issue_secret(hive.create_client("c").client_id)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(hive.pipeline, "start", broken)
    transport = httpx.ASGITransport(app=create_app(hive))
    async with httpx.AsyncClient(transport=transport, base_url="http://k.test") as http:
        answer = await http.get("/v1/auth", headers=bearer(issued.token))
    assert_problem(answer, 500)
    assert issued.token not in answer.text
    assert "unexpected error on /v1/auth" in caplog.text
    assert issued.token not in caplog.text
