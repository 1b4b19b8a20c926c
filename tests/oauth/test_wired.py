"""Access tokens beside API keys: the same pipeline answers both, so ``GET /v1/auth``,
``POST /v1/verify``, the library and every integration with a local hive accept keyhive's
JWTs with the same scopes, principal and RFC 6750 answers."""

from __future__ import annotations

import httpx
import pytest

from keyhive import Code, KeyHive
from keyhive.core.credentials import TokenCredential
from keyhive.service.oauth import OAuthService
from tests.integrations.apps import bearer

from .conftest import AUDIENCE, ISSUER, Holder

pytestmark = pytest.mark.anyio


def _jwt(oauth: OAuthService, holder: Holder, scope: str | None = None) -> str:
    issued = oauth.token(
        grant_type="client_credentials",
        client_id=holder.client_id,
        client_secret=holder.secret,
        scope=scope,
    )
    return issued.access_token


def test_the_library_verifies_access_tokens_with_their_own_scopes(
    hive: KeyHive, oauth: OAuthService, holder: Holder
) -> None:
    token = _jwt(oauth, holder, "articles:read")
    result = hive.verify(token, ["articles:read"])
    assert result.valid, result
    assert (result.client_id, result.secret_id) == (holder.client_id, holder.issued.secret_id)
    assert result.scopes == ("articles:read",), "the token's scopes, not the secret's"
    assert hive.verify(token, ["articles:write"]).code is Code.INSUFFICIENT_SCOPE
    assert hive.verify(token[:-4] + "AAAA").code is Code.NOT_FOUND
    hive.revoke(holder.issued.secret_id)
    assert hive.verify(token).code is Code.REVOKED


async def test_gateway_and_verify_accept_access_tokens(
    client: httpx.AsyncClient,
    oauth: OAuthService,
    holder: Holder,
    gateway: dict[str, str],
    hive: KeyHive,
) -> None:
    token = _jwt(oauth, holder, "articles:read")
    ok = await client.get("/v1/auth", params={"scope": "articles:read"}, headers=bearer(token))
    assert ok.status_code == 200, ok.text
    assert ok.headers["x-keyhive-client-id"] == holder.client_id
    assert ok.headers["x-keyhive-scopes"] == "articles:read"
    denied = await client.get("/v1/auth", params={"scope": "articles:write"}, headers=bearer(token))
    assert denied.status_code == 403
    assert 'error="insufficient_scope"' in denied.headers["www-authenticate"]
    answer = await client.post("/v1/verify", json={"token": token}, headers=gateway)
    assert answer.status_code == 200
    assert answer.json()["valid"] is True
    assert answer.json()["scopes"] == ["articles:read"]
    hive.disable_client(holder.client_id)
    refused = await client.get("/v1/auth", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json()["code"] == "DISABLED"


def test_a_hive_without_an_audience_refuses_access_tokens(
    hive: KeyHive, oauth: OAuthService, holder: Holder, clock: object
) -> None:
    token = _jwt(oauth, holder)
    from keyhive import Settings

    plain = Settings(hashing_profile="cheapest")
    other = KeyHive("memory://", store=hive.store, settings=plain, clock=hive.clock)
    try:
        assert other.verify(token).code is Code.NOT_FOUND
    finally:
        other.close()
    assert hive.settings.oauth_issuer == ISSUER and hive.settings.oauth_audience == AUDIENCE
    assert hive.verify_credential(TokenCredential(token)).valid
