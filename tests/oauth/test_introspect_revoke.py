"""POST /oauth/introspect (RFC 7662) and POST /oauth/revoke (RFC 7009)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from keyhive import FrozenClock, KeyHive

from .conftest import Holder, basic
from .test_rotation import get_token

pytestmark = pytest.mark.anyio


async def introspect(
    client: httpx.AsyncClient, caller: dict[str, str], token: str
) -> dict[str, object]:
    response = await client.post("/oauth/introspect", data={"token": token}, headers=caller)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return dict(response.json())


async def test_an_active_token_is_described(
    client: httpx.AsyncClient, holder: Holder, gateway: dict[str, str], clock: FrozenClock
) -> None:
    token = await get_token(client, holder)
    body = await introspect(client, gateway, token)
    assert body["active"] is True
    assert body["client_id"] == body["sub"] == holder.client_id
    assert body["scope"] == "articles:read articles:write"
    assert body["aud"] == "https://api.example"
    assert body["iss"] == "https://auth.example"
    assert body["kh_sid"] == holder.issued.secret_id
    assert body["exp"] == int(clock.now().timestamp()) + 900
    clock.advance(timedelta(minutes=15))
    assert await introspect(client, gateway, token) == {"active": False}


async def test_revoking_the_secret_or_disabling_the_client_ends_tokens_at_once(
    client: httpx.AsyncClient, hive: KeyHive, holder: Holder, gateway: dict[str, str]
) -> None:
    token = await get_token(client, holder)
    hive.revoke(holder.issued.secret_id)
    assert await introspect(client, gateway, token) == {"active": False}
    other = hive.issue_secret(holder.client_id, scopes=["articles:read"])
    second = await get_token(client, Holder(holder.client_id, other))
    assert (await introspect(client, gateway, second))["active"] is True
    hive.disable_client(holder.client_id)
    assert await introspect(client, gateway, second) == {"active": False}
    hive.enable_client(holder.client_id)
    assert (await introspect(client, gateway, second))["active"] is True


async def test_narrowed_scopes_narrow_live_tokens(
    client: httpx.AsyncClient, hive: KeyHive, holder: Holder, gateway: dict[str, str]
) -> None:
    token = await get_token(client, holder)
    hive.update(holder.issued.secret_id, scopes=["articles:read"])
    assert (await introspect(client, gateway, token))["scope"] == "articles:read"


async def test_tokens_that_are_not_ours_are_inactive(
    client: httpx.AsyncClient, holder: Holder, gateway: dict[str, str]
) -> None:
    token = await get_token(client, holder)
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{signature[:-4]}AAAA"
    for text in (tampered, holder.secret, "a.b.c", "x" * 5000, token + "."):
        assert await introspect(client, gateway, text) == {"active": False}


async def test_introspection_needs_keyhive_verify(
    client: httpx.AsyncClient, hive: KeyHive, holder: Holder
) -> None:
    token = await get_token(client, holder)
    anonymous = await client.post("/oauth/introspect", data={"token": token})
    assert anonymous.status_code == 401
    itself = await client.post(
        "/oauth/introspect", data={"token": token}, headers=basic(holder.client_id, holder.secret)
    )
    assert itself.status_code == 403
    with_jwt = await client.post(
        "/oauth/introspect", data={"token": token}, headers={"Authorization": f"Bearer {token}"}
    )
    # An access token is a credential like any other, but never carries keyhive:* scopes.
    assert with_jwt.status_code == 403


async def test_introspection_needs_a_token_parameter(
    client: httpx.AsyncClient, gateway: dict[str, str]
) -> None:
    response = await client.post("/oauth/introspect", data={"hint": "x"}, headers=gateway)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    as_json = await client.post("/oauth/introspect", json={"token": "x"}, headers=gateway)
    assert as_json.status_code == 400


async def test_revoke_by_jti(
    client: httpx.AsyncClient, hive: KeyHive, holder: Holder, gateway: dict[str, str]
) -> None:
    token, kept = await get_token(client, holder), await get_token(client, holder)
    response = await client.post(
        "/oauth/revoke", data={"token": token}, headers=basic(holder.client_id, holder.secret)
    )
    assert response.status_code == 200
    assert response.content == b""
    assert await introspect(client, gateway, token) == {"active": False}
    assert (await introspect(client, gateway, kept))["active"] is True
    [event] = [e for e in hive.audit() if e.action == "token.revoke"]
    assert event.target_type == "token"
    assert event.actor == holder.issued.secret_id
    assert token not in str(event.to_dict())
    again = await client.post(
        "/oauth/revoke",
        data={"token": token, "client_id": holder.client_id, "client_secret": holder.secret},
    )
    assert again.status_code == 200
    assert len([e for e in hive.audit() if e.action == "token.revoke"]) == 1


async def test_revoke_refusals(client: httpx.AsyncClient, hive: KeyHive, holder: Holder) -> None:
    token = await get_token(client, holder)
    other = hive.create_client("other")
    other_secret = hive.issue_secret(other.client_id, scopes=["a:read"]).token
    someone_else = await client.post(
        "/oauth/revoke", data={"token": token}, headers=basic(other.client_id, other_secret)
    )
    assert someone_else.status_code == 400
    assert someone_else.json()["error"] == "invalid_grant"
    unauthenticated = await client.post("/oauth/revoke", data={"token": token})
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"] == "invalid_client"
    a_secret = await client.post(
        "/oauth/revoke",
        data={"token": holder.secret},
        headers=basic(holder.client_id, holder.secret),
    )
    assert a_secret.status_code == 400
    assert a_secret.json()["error"] == "unsupported_token_type"
    garbage = await client.post(
        "/oauth/revoke",
        data={"token": "not-a-token"},
        headers=basic(holder.client_id, holder.secret),
    )
    assert garbage.status_code == 200
    missing = await client.post(
        "/oauth/revoke", data={}, headers=basic(holder.client_id, holder.secret)
    )
    assert missing.json()["error"] == "invalid_request"


async def test_deny_list_rows_are_dropped_after_expiry(
    client: httpx.AsyncClient, hive: KeyHive, holder: Holder, clock: FrozenClock
) -> None:
    auth = basic(holder.client_id, holder.secret)
    first = await get_token(client, holder)
    await client.post("/oauth/revoke", data={"token": first}, headers=auth)
    assert len(hive.store.oauth.revoked_tokens(expiring_after=clock.now())) == 1
    clock.advance(timedelta(minutes=30))
    second = await get_token(client, holder)
    await client.post("/oauth/revoke", data={"token": second}, headers=auth)
    rows = hive.store.oauth.revoked_tokens(expiring_after=clock.now() - timedelta(days=1))
    assert len(rows) == 1
