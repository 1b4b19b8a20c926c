"""``POST /v1/portal/sessions`` over HTTP: who may ask, what is refused, what comes back."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from keyhive import FrozenClock, KeyHive, Settings
from keyhive.server import create_app

from .helpers import assert_problem, bearer

pytestmark = pytest.mark.anyio
PATH = "/v1/portal/sessions"
BODY = {"owner": "ada", "allowed_scopes": ["articles:read"]}


async def test_an_admin_gets_a_one_time_link(
    client: httpx.AsyncClient, admin: dict[str, str], hive: KeyHive, clock: FrozenClock
) -> None:
    made = await client.post(
        PATH,
        json={**BODY, "max_secrets": 2, "return_url": "https://app.example/account", "ttl": "1h"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert set(body) == {"url", "expires_at"}
    assert body["url"].startswith("http://keyhive.test/portal/enter/")
    assert datetime.fromisoformat(body["expires_at"]) == clock.now() + timedelta(hours=1)
    assert made.headers["cache-control"] == "no-store"
    # The session remembers the admin secret that asked for it.
    event = [e for e in hive.audit() if e.action == "portal.session.create"][-1]
    assert event.after is not None
    assert event.actor == event.after["created_by"] and event.actor is not None
    assert body["url"].rsplit("/", 1)[1] not in str(event.to_dict())
    opened = await client.get(body["url"])
    assert opened.status_code == 303 and opened.headers["location"] == "/portal/"
    assert (await client.get(body["url"])).status_code == 410


async def test_only_admins_ask(
    client: httpx.AsyncClient, admin: dict[str, str], verifier: dict[str, str]
) -> None:
    assert_problem(await client.post(PATH, json=BODY), 401)
    assert_problem(await client.post(PATH, json=BODY, headers=verifier), 403)


@pytest.mark.parametrize(
    "change",
    [
        {"allowed_scopes": ["keyhive:*"]},
        {"allowed_scopes": ["keyhive:admin"]},
        {"allowed_scopes": ["a:b", "keyhive:verify"]},
        {"allowed_scopes": []},
        {"allowed_scopes": ["not a scope"]},
        {"ttl": "25h"},
        {"ttl": "30s"},
        {"ttl": "soon"},
        {"max_secrets": -1},
        {"max_secrets": "2"},
        {"return_url": "javascript:alert(1)"},
        {"return_url": "/relative"},
        {"return_url": "https://u:p@app.example/"},
        {"owner": ""},
        {"owner": "o" * 194},
        {"owner": "\u0007bell"},
        {"ttl": "1h30m"},
        {"ttl": "0m"},
        {"client_name": ""},
        {"scopes": ["a:b"]},
    ],
)
async def test_bad_requests_are_422(
    client: httpx.AsyncClient, admin: dict[str, str], hive: KeyHive, change: dict[str, object]
) -> None:
    before = len(hive.audit())
    refused = await client.post(PATH, json={**BODY, **change}, headers=admin)
    assert_problem(refused, 422)
    assert len(hive.audit()) == before


async def test_keyhives_own_owner_is_a_conflict(
    client: httpx.AsyncClient, admin: dict[str, str], hive: KeyHive
) -> None:
    before = len(hive.audit())
    refused = await client.post(PATH, json={**BODY, "owner": "keyhive"}, headers=admin)
    assert "keyhive's own admin client" in assert_problem(refused, 409)["detail"]
    assert len(hive.audit()) == before


async def test_the_public_url_setting_makes_the_link(clock: FrozenClock) -> None:
    hive = KeyHive(
        "memory://",
        settings=Settings(hashing_profile="cheapest", public_url="https://keys.example.com/"),
        clock=clock,
    )
    admin = hive.bootstrap_admin()
    assert admin is not None
    transport = httpx.ASGITransport(app=create_app(hive))
    async with httpx.AsyncClient(transport=transport, base_url="http://internal:8080") as http:
        made = await http.post(PATH, json=BODY, headers=bearer(admin.token))
    assert made.json()["url"].startswith("https://keys.example.com/portal/enter/")
    hive.close()
