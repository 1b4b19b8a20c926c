"""The webhook API over HTTP: keyhive:admin only, problem+json errors, the secret once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Literal, get_args

import httpx
import pytest
from standardwebhooks import Webhook

from keyhive import KeyHive
from keyhive.core.webhooks import ALL_EVENTS, EVENT_TYPES
from keyhive.server import create_app
from keyhive.server.webhook_schemas import EventType
from keyhive.service.hive import VERIFY_SCOPE
from keyhive.service.webhook_sender import WebhookSender
from keyhive.storage.sql import SqlStore
from tests.server.helpers import assert_problem, bearer

from .conftest import MakeHive
from .receiver import Receiver

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def api_hive(make_hive: MakeHive) -> KeyHive:
    return make_hive("memory://")


@pytest.fixture
async def api(api_hive: KeyHive) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(api_hive))
    async with httpx.AsyncClient(transport=transport, base_url="http://keyhive.test") as c:
        yield c


@pytest.fixture
def admin(api_hive: KeyHive) -> dict[str, str]:
    issued = api_hive.bootstrap_admin()
    assert issued is not None
    return bearer(issued.token)


async def test_create_list_show_test_deliveries_and_remove(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    api_hive: KeyHive,
    receiver: Receiver,
    senders: Callable[..., WebhookSender],
) -> None:
    made = await api.post(
        "/v1/webhooks",
        headers=admin,
        json={"url": receiver.url, "events": ["secret.revoked"], "description": "ops"},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["secret"].startswith("whsec_")
    Webhook(body["secret"])  # the receiver library takes it as it is
    receiver.secret = body["secret"]
    ident = body["webhook_id"]
    assert body["events"] == ["secret.revoked"] and body["enabled"] is True

    listed = (await api.get("/v1/webhooks", headers=admin)).json()["items"]
    assert [w["webhook_id"] for w in listed] == [ident]
    assert "secret" not in listed[0] and body["secret"] not in str(listed)
    shown = (await api.get(f"/v1/webhooks/{ident}", headers=admin)).json()
    assert shown == {k: v for k, v in body.items() if k != "secret"}

    queued = await api.post(f"/v1/webhooks/{ident}/test", headers=admin)
    assert queued.status_code == 202
    assert queued.json()["status"] == "pending" and queued.json()["type"] == "webhook.test"
    senders(api_hive).step()
    assert receiver.types() == ["webhook.test"]
    assert receiver.received[0].webhook_id == queued.json()["event_id"]
    page = (await api.get(f"/v1/webhooks/{ident}/deliveries", headers=admin)).json()
    assert [(d["type"], d["status"], d["attempts"]) for d in page["items"]] == [
        ("webhook.test", "delivered", 1)
    ]
    assert page["next"] is None

    assert (await api.delete(f"/v1/webhooks/{ident}", headers=admin)).status_code == 204
    assert_problem(await api.delete(f"/v1/webhooks/{ident}", headers=admin), 404)
    assert_problem(await api.get(f"/v1/webhooks/{ident}/deliveries", headers=admin), 404)
    assert_problem(await api.post(f"/v1/webhooks/{ident}/test", headers=admin), 404)
    actions = [e.action for e in api_hive.audit() if e.target_type == "webhook"]
    assert actions == ["webhook.create", "webhook.delete"]


async def test_only_admins(api: httpx.AsyncClient, api_hive: KeyHive) -> None:
    assert_problem(await api.get("/v1/webhooks"), 401)
    client = api_hive.create_client("gateway")
    verifier = bearer(api_hive.issue_secret(client.client_id, scopes=[VERIFY_SCOPE]).token)
    for method, path in [
        ("GET", "/v1/webhooks"),
        ("POST", "/v1/webhooks"),
        ("DELETE", "/v1/webhooks/wh_x"),
        ("GET", "/v1/webhooks/wh_x/deliveries"),
        ("POST", "/v1/webhooks/wh_x/test"),
    ]:
        answer = await api.request(method, path, headers=verifier, json={})
        assert_problem(answer, 403)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"url": "http://127.0.0.1:9/", "events": []}, 422),
        ({"url": "http://127.0.0.1:9/", "events": ["secret.stolen"]}, 422),
        ({"url": "http://127.0.0.1:9/", "events": "secret.revoked"}, 422),
        ({"url": "gopher://127.0.0.1/", "events": ["*"]}, 422),
        ({"url": "http://u:p@127.0.0.1/", "events": ["*"]}, 422),
        ({"url": "http://127.0.0.1:9/", "events": ["*"], "secret": "mine"}, 422),
        ({"url": "http://127.0.0.1:9/" + "a" * 3000, "events": ["*"]}, 422),
        ({"events": ["*"]}, 422),
    ],
)
async def test_bad_bodies_are_problems(
    api: httpx.AsyncClient, admin: dict[str, str], body: dict[str, object], status: int
) -> None:
    assert_problem(await api.post("/v1/webhooks", headers=admin, json=body), status)
    assert (await api.get("/v1/webhooks", headers=admin)).json()["items"] == []


async def test_not_json_and_bad_queries(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    json_type = {**admin, "content-type": "application/json"}
    answer = await api.post("/v1/webhooks", headers=json_type, content=b"{nope")
    assert_problem(answer, 400)
    for query in ("limit=0", "limit=5000", "before=0", "before=x"):
        assert_problem(await api.get(f"/v1/webhooks/wh_x/deliveries?{query}", headers=admin), 422)
    assert_problem(await api.get("/v1/webhooks/" + "w" * 100, headers=admin), 422)


async def test_private_targets_are_refused_without_the_setting(
    admin: dict[str, str], make_hive: MakeHive
) -> None:
    from keyhive import Settings

    hive = make_hive("memory://", settings=Settings(hashing_profile="cheapest"))
    token = hive.bootstrap_admin()
    assert token is not None
    transport = httpx.ASGITransport(app=create_app(hive))
    async with httpx.AsyncClient(transport=transport, base_url="http://keyhive.test") as c:
        for url in ("https://127.0.0.1/hook", "https://[::1]/", "https://169.254.169.254/"):
            answer = await c.post(
                "/v1/webhooks", headers=bearer(token.token), json={"url": url, "events": ["*"]}
            )
            problem = assert_problem(answer, 422)
            assert problem["field"] == "url"
            assert "KEYHIVE_WEBHOOK_ALLOW_PRIVATE" in str(problem["detail"])


async def test_no_durable_server_key_answers_503(tmp_path: Path, make_hive: MakeHive) -> None:
    url = f"sqlite:///{tmp_path / 'nokey.db'}"
    store = SqlStore(url)
    store.migrate()
    hive = make_hive(url, store=store, migrate=False)  # no key file: a key per process
    assert not hive.server_keys.durable
    token = hive.bootstrap_admin()
    assert token is not None
    transport = httpx.ASGITransport(app=create_app(hive))
    async with httpx.AsyncClient(transport=transport, base_url="http://keyhive.test") as c:
        answer = await c.post(
            "/v1/webhooks",
            headers=bearer(token.token),
            json={"url": "http://127.0.0.1:9/", "events": ["*"]},
        )
    problem = assert_problem(answer, 503)
    assert problem["type"] == "urn:keyhive:problem:webhooks-unavailable"
    assert "KEYHIVE_PEPPERS" in str(problem["detail"])


async def test_a_disabled_endpoint_cannot_be_tested(
    api: httpx.AsyncClient, admin: dict[str, str], api_hive: KeyHive
) -> None:
    from keyhive.core.model import AuditEvent

    made = api_hive.create_webhook("http://127.0.0.1:9/", ["*"])
    ident = made.webhook.webhook_id
    now = api_hive.clock.now()
    event = AuditEvent(None, now, "t", "webhook.disable", "webhook", ident)
    assert api_hive.store.webhooks.disable(ident, now, "failing", event)
    assert_problem(await api.post(f"/v1/webhooks/{ident}/test", headers=admin), 409)


async def test_openapi_documents_the_routes_with_their_constraints(
    api: httpx.AsyncClient,
) -> None:
    doc = (await api.get("/openapi.json")).json()
    paths = doc["paths"]
    assert set(paths["/v1/webhooks"]) == {"get", "post"}
    assert set(paths["/v1/webhooks/{webhook_id}"]) == {"get", "delete"}
    assert set(paths["/v1/webhooks/{webhook_id}/deliveries"]) == {"get"}
    assert set(paths["/v1/webhooks/{webhook_id}/test"]) == {"post"}
    create = doc["components"]["schemas"]["WebhookCreate"]
    assert create["properties"]["url"]["maxLength"] == 2048
    assert create["properties"]["events"]["minItems"] == 1
    assert create["additionalProperties"] is False
    responses = paths["/v1/webhooks"]["post"]["responses"]
    assert {"201", "401", "403", "409", "422", "503"} <= set(responses)
    assert "application/problem+json" in responses["422"]["content"]


def test_the_schema_names_every_event_type() -> None:
    assert set(get_args(EventType)) == {ALL_EVENTS, *EVENT_TYPES}
    assert get_args(Literal["x"]) == ("x",)
