"""The admin API: clients, secrets, audit; the caller's own auth; ids containing '/'."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest

from keyhive import FrozenClock, KeyHive
from keyhive.service.hive import VERIFY_SCOPE

from .helpers import assert_problem, basic, bearer

pytestmark = pytest.mark.anyio

SLASHED = "ab/cd+ef/gh=="


async def create(client: httpx.AsyncClient, admin: dict[str, str], **body: object) -> str:
    r = await client.post("/v1/clients", json={"name": "reporting", **body}, headers=admin)
    assert r.status_code == 201, r.text
    return str(r.json()["client_id"])


async def issue(
    client: httpx.AsyncClient, admin: dict[str, str], client_id: str, **body: object
) -> dict[str, object]:
    r = await client.post(f"/v1/clients/{client_id}/secrets", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return dict(r.json())


# -- clients -------------------------------------------------------------------------------


async def test_create_and_show_a_client(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    r = await client.post(
        "/v1/clients",
        json={"name": "reporting", "owner": "team-7", "metadata": {"tier": 2}},
        headers=admin,
    )
    assert r.status_code == 201
    made = r.json()
    assert made["name"] == "reporting"
    assert made["owner"] == "team-7"
    assert made["metadata"] == {"tier": 2}
    assert made["enabled"] is True
    assert made["created_at"] == "2030-01-01T00:00:00Z"
    shown = await client.get(f"/v1/clients/{made['client_id']}", headers=admin)
    assert shown.json() == made


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "ok", "metadata": []}, "metadata"),
        ({"name": "ok", "owner": 3}, "owner"),
        ({"name": "ok", "client_id": "mine"}, "client_id"),
    ],
)
async def test_create_client_rejects_bad_fields(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, object], field: str
) -> None:
    problem = assert_problem(await client.post("/v1/clients", json=body, headers=admin), 422)
    assert ["body", field] in [e["loc"] for e in problem["errors"]]  # type: ignore[attr-defined]


async def test_library_checks_become_422(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    control = await client.post("/v1/clients", json={"name": "tab\there"}, headers=admin)
    errors = assert_problem(control, 422)["errors"]  # the documented pattern, checked first
    assert [e["loc"] for e in errors] == [["body", "name"]]  # type: ignore[attr-defined]
    huge = {"name": "big", "metadata": {"k": "v" * 20_000}}
    assert (
        assert_problem(await client.post("/v1/clients", json=huge, headers=admin), 422)["field"]
        == "metadata"
    )


async def test_bad_json_and_big_bodies(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    headers = {**admin, "Content-Type": "application/json"}
    assert_problem(await client.post("/v1/clients", content=b"{", headers=headers), 400)
    nested = b"[" * 3000 + b"]" * 3000
    r = await client.post("/v1/clients", content=nested, headers=headers)
    assert r.status_code in (400, 422)
    assert_problem(r, r.status_code)
    big = b'{"name": "' + b"x" * 70_000 + b'"}'
    assert_problem(await client.post("/v1/clients", content=big, headers=headers), 413)
    text = await client.post(
        "/v1/clients", content=b"name=x", headers={**admin, "Content-Type": "text/plain"}
    )
    assert_problem(text, 422)


async def test_list_clients_pages_with_next(
    client: httpx.AsyncClient, admin: dict[str, str], hive: KeyHive
) -> None:
    ids = {await create(client, admin, owner="acme") for _ in range(3)}
    seen: list[str] = []
    after: str | None = None
    while True:
        params = {"owner": "acme", "limit": "2", **({"after": after} if after else {})}
        page = (await client.get("/v1/clients", params=params, headers=admin)).json()
        seen += [c["client_id"] for c in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert sorted(seen) == sorted(ids)
    everyone = (await client.get("/v1/clients", headers=admin)).json()
    assert len(everyone["items"]) == 4  # and the admin client
    assert everyone["next"] is None
    for bad in ({"limit": "0"}, {"limit": "1001"}, {"limit": "many"}):
        assert_problem(await client.get("/v1/clients", params=bad, headers=admin), 422)


async def test_patch_client_fields_and_enabled(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    client_id = await create(client, admin, owner="team-7", metadata={"a": 1})
    r = await client.patch(
        f"/v1/clients/{client_id}",
        json={"name": "renamed", "owner": None, "metadata": {"b": 2}, "enabled": False},
        headers=admin,
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["name"], body["owner"], body["metadata"], body["enabled"]) == (
        "renamed",
        None,
        {"b": 2},
        False,
    )
    again = await client.patch(f"/v1/clients/{client_id}", json={"enabled": True}, headers=admin)
    assert again.json()["enabled"] is True
    assert again.json()["name"] == "renamed"
    unchanged = await client.patch(f"/v1/clients/{client_id}", json={}, headers=admin)
    assert unchanged.json() == again.json()
    assert_problem(
        await client.patch(f"/v1/clients/{client_id}", json={"name": None}, headers=admin), 422
    )
    assert_problem(
        await client.patch(f"/v1/clients/{client_id}", json={"enabled": "no"}, headers=admin), 422
    )


async def test_disable_and_enable(
    client: httpx.AsyncClient, admin: dict[str, str], hive: KeyHive
) -> None:
    client_id = await create(client, admin)
    token = str((await issue(client, admin, client_id))["token"])
    r = await client.post(f"/v1/clients/{client_id}/disable", headers=admin)
    assert (r.status_code, r.json()["enabled"]) == (200, False)
    assert hive.verify(token).code.value == "DISABLED"
    r = await client.post(f"/v1/clients/{client_id}/enable", headers=admin)
    assert (r.status_code, r.json()["enabled"]) == (200, True)
    assert hive.verify(token).valid


@pytest.mark.parametrize("suffix", ["", "/secrets", "/disable", "/enable"])
async def test_unknown_client_is_404(
    client: httpx.AsyncClient, admin: dict[str, str], suffix: str
) -> None:
    method = "GET" if suffix in ("", "/secrets") else "POST"
    r = await client.request(method, f"/v1/clients/no-such-client{suffix}", headers=admin)
    assert assert_problem(r, 404)["type"] == "urn:keyhive:problem:not-found"
    post = await client.post("/v1/clients/no-such-client/secrets", json={}, headers=admin)
    assert_problem(post, 404)
    patch = await client.patch("/v1/clients/nobody", json={"name": "x"}, headers=admin)
    assert_problem(patch, 404)
    too_long = await client.get("/v1/clients/" + "x" * 300, headers=admin)
    assert_problem(too_long, 404)


async def test_client_ids_with_slashes_work_on_every_route(
    client: httpx.AsyncClient, admin: dict[str, str], hive: KeyHive
) -> None:
    hive.create_client("imported", client_id=SLASHED)
    for path in (f"/v1/clients/{SLASHED}", f"/v1/clients/{quote(SLASHED, safe='')}"):
        r = await client.get(path, headers=admin)
        assert (r.status_code, r.json()["client_id"]) == (200, SLASHED)
    issued = await issue(client, admin, SLASHED, scopes=["a:b"])
    assert issued["client_id"] == SLASHED
    listed = await client.get(f"/v1/clients/{SLASHED}/secrets", headers=admin)
    assert [s["secret_id"] for s in listed.json()["items"]] == [issued["secret_id"]]
    r = await client.patch(f"/v1/clients/{SLASHED}", json={"name": "renamed"}, headers=admin)
    assert r.json()["name"] == "renamed"
    r = await client.post(f"/v1/clients/{SLASHED}/disable", headers=admin)
    assert r.json()["enabled"] is False
    r = await client.post(f"/v1/clients/{SLASHED}/enable", headers=admin)
    assert r.json()["enabled"] is True


# -- secrets -------------------------------------------------------------------------------


async def test_issue_returns_the_token_once(
    client: httpx.AsyncClient, admin: dict[str, str], hive: KeyHive
) -> None:
    client_id = await create(client, admin)
    issued = await issue(
        client, admin, client_id, scopes=["articles:read"], name="ci", expires_in="90d"
    )
    token = str(issued["token"])
    assert issued["scopes"] == ["articles:read"]
    assert issued["name"] == "ci"
    assert issued["expires_at"] == "2030-04-01T00:00:00Z"
    assert hive.verify(token, ["articles:read"]).valid
    shown = await client.get(f"/v1/secrets/{issued['secret_id']}", headers=admin)
    assert shown.status_code == 200
    assert "token" not in shown.json()
    assert token not in shown.text
    listed = await client.get(f"/v1/clients/{client_id}/secrets", headers=admin)
    assert token not in listed.text
    assert [s["secret_id"] for s in listed.json()["items"]] == [issued["secret_id"]]


async def test_issue_with_expires_at(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    client_id = await create(client, admin)
    issued = await issue(client, admin, client_id, expires_at="2030-06-01T12:00:00+02:00")
    assert issued["expires_at"] == "2030-06-01T10:00:00Z"
    # Past the calendar's end once in UTC: the latest time there is (never, in effect).
    edge = await issue(client, admin, client_id, expires_at="9999-12-31T23:59:59-14:00")
    assert edge["expires_at"] == "9999-12-31T23:59:59.999999Z"


@pytest.mark.parametrize(
    "body",
    [
        {"scopes": ["bad scope"]},
        {"scopes": "articles:read"},
        {"expires_in": "soon"},
        {"expires_in": "0s"},
        {"expires_in": "999999999w"},
        {"expires_at": "2030-06-01T12:00:00"},
        {"expires_at": "2031-01-01T00:00:00Z", "expires_in": "1d"},
        {"name": ""},
        {"prefix": "zz"},
    ],
)
async def test_issue_rejects_bad_input(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, object]
) -> None:
    client_id = await create(client, admin)
    r = await client.post(f"/v1/clients/{client_id}/secrets", json=body, headers=admin)
    assert_problem(r, 422)


async def test_patch_secret(
    client: httpx.AsyncClient, admin: dict[str, str], hive: KeyHive
) -> None:
    client_id = await create(client, admin)
    issued = await issue(client, admin, client_id, scopes=["a:read"], expires_in="1d")
    path = f"/v1/secrets/{issued['secret_id']}"
    r = await client.patch(path, json={"scopes": ["a:read", "a:write"], "name": "w"}, headers=admin)
    assert (r.status_code, r.json()["scopes"], r.json()["name"]) == (
        200,
        ["a:read", "a:write"],
        "w",
    )
    assert r.json()["expires_at"] == "2030-01-02T00:00:00Z"
    assert hive.verify(str(issued["token"]), ["a:write"]).valid
    r = await client.patch(path, json={"expires_at": None}, headers=admin)
    assert r.json()["expires_at"] is None
    r = await client.patch(path, json={"expires_in": "2h"}, headers=admin)
    assert r.json()["expires_at"] == "2030-01-01T02:00:00Z"
    assert_problem(await client.patch(path, json={"scopes": None}, headers=admin), 422)
    assert_problem(await client.patch(path, json={"expires_in": "x"}, headers=admin), 422)


async def test_revoke(client: httpx.AsyncClient, admin: dict[str, str], hive: KeyHive) -> None:
    client_id = await create(client, admin)
    issued = await issue(client, admin, client_id)
    path = f"/v1/secrets/{issued['secret_id']}/revoke"
    r = await client.post(path, json={"reason": "leaked in CI log"}, headers=admin)
    assert r.status_code == 200
    assert r.json()["revoked_at"] == "2030-01-01T00:00:00Z"
    assert r.json()["revoked_reason"] == "leaked in CI log"
    assert hive.verify(str(issued["token"])).code.value == "REVOKED"
    other = await issue(client, admin, client_id)
    bare = await client.post(f"/v1/secrets/{other['secret_id']}/revoke", headers=admin)
    assert bare.json()["revoked_reason"] == "revoked"
    assert_problem(await client.post(path, json={"reason": 7}, headers=admin), 422)


async def test_rotate_with_grace(
    client: httpx.AsyncClient, admin: dict[str, str], hive: KeyHive, clock: FrozenClock
) -> None:
    client_id = await create(client, admin)
    old = await issue(client, admin, client_id, scopes=["a:read"])
    path = f"/v1/secrets/{old['secret_id']}/rotate"
    r = await client.post(path, json={"grace": "24h"}, headers=admin)
    assert r.status_code == 201
    new = r.json()
    assert new["rotated_from"] == old["secret_id"]
    assert new["scopes"] == ["a:read"]
    assert hive.verify(new["token"]).valid
    assert hive.verify(str(old["token"])).valid
    clock.advance(timedelta(hours=24))
    assert hive.verify(str(old["token"])).code.value == "REVOKED"
    again = await client.post(path, headers=admin)
    assert assert_problem(again, 409)["type"] == "urn:keyhive:problem:conflict"
    fresh = await issue(client, admin, client_id)
    plain = await client.post(f"/v1/secrets/{fresh['secret_id']}/rotate", headers=admin)
    assert plain.status_code == 201
    assert hive.verify(str(fresh["token"])).code.value == "REVOKED"
    bad = await client.post(
        f"/v1/secrets/{plain.json()['secret_id']}/rotate", json={"grace": "1 day"}, headers=admin
    )
    assert_problem(bad, 422)


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("PATCH", ""), ("POST", "/revoke"), ("POST", "/rotate")],
)
async def test_unknown_secret_is_404_and_never_echoes_the_id(
    client: httpx.AsyncClient, admin: dict[str, str], method: str, suffix: str
) -> None:
    # Someone pastes a token where the secret_id belongs: it must not come back.
    token = admin["Authorization"].removeprefix("Bearer ")
    for ident in ("AAAAAAAAAAAAAAAA", token):
        r = await client.request(method, f"/v1/secrets/{ident}{suffix}", json={}, headers=admin)
        assert_problem(r, 404)
        assert token not in r.text


# -- audit ---------------------------------------------------------------------------------


async def test_audit_records_the_caller_as_actor(
    client: httpx.AsyncClient, admin: dict[str, str], hive: KeyHive
) -> None:
    admin_secret = hive.verify(admin["Authorization"].removeprefix("Bearer ")).secret_id
    client_id = await create(client, admin)
    await issue(client, admin, client_id)
    r = await client.get("/v1/audit", params={"target": client_id}, headers=admin)
    assert r.status_code == 200
    events = r.json()["items"]
    assert [e["action"] for e in events] == ["client.create"]
    assert events[0]["actor"] == admin_secret
    everything = (await client.get("/v1/audit", headers=admin)).json()["items"]
    assert [e["action"] for e in everything][-2:] == ["client.create", "secret.issue"]
    assert all(e["actor"] == admin_secret for e in everything[-2:])
    page = (await client.get("/v1/audit", params={"limit": 2}, headers=admin)).json()
    assert len(page["items"]) == 2
    assert page["next"] == page["items"][-1]["id"]
    rest = await client.get("/v1/audit", params={"after": page["next"]}, headers=admin)
    assert [e["id"] for e in rest.json()["items"]] == [e["id"] for e in everything[2:]]
    for bad in ({"after": "-1"}, {"limit": "0"}, {"after": "x"}):
        assert_problem(await client.get("/v1/audit", params=bad, headers=admin), 422)


# -- the caller's own auth -----------------------------------------------------------------


async def test_admin_routes_need_an_admin_caller(
    client: httpx.AsyncClient, hive: KeyHive, verifier: dict[str, str], admin_token: str
) -> None:
    missing = await client.get("/v1/clients")
    assert_problem(missing, 401)
    assert missing.headers["www-authenticate"] == 'Bearer realm="keyhive"'
    bad = await client.get("/v1/clients", headers={"Authorization": "Token abc"})
    assert 'error="invalid_request"' in bad.headers["www-authenticate"]
    assert_problem(bad, 401)
    wrong = await client.get("/v1/clients", headers=bearer("kh_" + "A" * 16 + "_" + "a" * 49))
    assert_problem(wrong, 401)
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    forbidden = await client.get("/v1/clients", headers=verifier)
    assert assert_problem(forbidden, 403)["code"] == "INSUFFICIENT_SCOPE"
    assert 'scope="keyhive:admin"' in forbidden.headers["www-authenticate"]
    ops = hive.create_client("ops")
    star = hive.issue_secret(ops.client_id, scopes=["*"]).token
    assert_problem(await client.get("/v1/clients", headers=bearer(star)), 403)
    # Nothing was written by the rejected callers.
    assert [e.action for e in hive.audit()][-2:] == ["client.create", "secret.issue"]


async def test_admin_caller_by_api_key_or_basic(
    client: httpx.AsyncClient, hive: KeyHive, admin_token: str
) -> None:
    admin_client = hive.verify(admin_token).client_id
    assert admin_client is not None
    for headers in ({"X-API-Key": admin_token}, basic(admin_client, admin_token)):
        assert (await client.get("/v1/clients", headers=headers)).status_code == 200


async def test_revoked_admin_is_locked_out(
    client: httpx.AsyncClient, hive: KeyHive, admin: dict[str, str], admin_token: str
) -> None:
    secret_id = hive.verify(admin_token).secret_id
    assert secret_id is not None
    # Another admin first: the API refuses to revoke the last one (tested on its own).
    other = hive.issue_secret(hive.get_secret(secret_id).client_id, scopes=["keyhive:admin"])
    r = await client.post(f"/v1/secrets/{secret_id}/revoke", headers=bearer(other.token))
    assert r.status_code == 200
    after = await client.get("/v1/clients", headers=admin)
    assert assert_problem(after, 401)["code"] == "REVOKED"


async def test_verify_scope_is_not_admin(
    client: httpx.AsyncClient, hive: KeyHive, admin: dict[str, str]
) -> None:
    gateway = hive.create_client("gw")
    token = hive.issue_secret(gateway.client_id, scopes=[VERIFY_SCOPE]).token
    r = await client.post("/v1/clients", json={"name": "x"}, headers=bearer(token))
    assert_problem(r, 403)
    assert len(hive.list_clients()) == 2
