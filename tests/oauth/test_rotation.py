"""A resource server with nothing but joserfc and the published JWKS validates keyhive's
tokens (signature, typ, iss, aud, exp); across a key rotation, old tokens validate until
they expire, new ones use the new key, and the old key leaves the JWKS after that."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import ExpiredTokenError
from joserfc.jwk import KeySet

from keyhive import FrozenClock, KeyHive
from keyhive.service.oauth import OAuthService

from .conftest import AUDIENCE, ISSUER, Holder, basic

pytestmark = pytest.mark.anyio
ALGS = ["Ed25519", "EdDSA", "ES256", "RS256"]


def resource_server_check(token: str, jwks: dict[str, Any], now: int) -> dict[str, Any]:
    """What a resource server without keyhive does: joserfc, the JWKS, RFC 9068 rules."""
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=ALGS)
    assert decoded.header["typ"] == "at+jwt"
    registry = jwt.JWTClaimsRegistry(
        now=now,
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": AUDIENCE},
        exp={"essential": True},
        sub={"essential": True},
        client_id={"essential": True},
        jti={"essential": True},
    )
    registry.validate(decoded.claims)
    return dict(decoded.claims)


async def get_token(client: httpx.AsyncClient, holder: Holder) -> str:
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(holder.client_id, holder.secret),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def jwks(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return dict(response.json())


async def test_joserfc_alone_validates_a_token(
    client: httpx.AsyncClient, holder: Holder, clock: FrozenClock
) -> None:
    token = await get_token(client, holder)
    now = int(clock.now().timestamp())
    claims = resource_server_check(token, await jwks(client), now)
    assert claims["sub"] == claims["client_id"] == holder.client_id
    assert claims["scope"] == "articles:read articles:write"
    assert claims["kh_sid"] == holder.issued.secret_id
    assert claims["exp"] - claims["iat"] == 900
    with pytest.raises(ExpiredTokenError):
        resource_server_check(token, await jwks(client), now + 901)


async def test_rotation_keeps_old_tokens_valid_until_they_expire(
    client: httpx.AsyncClient, holder: Holder, clock: FrozenClock, oauth: OAuthService
) -> None:
    old_token = await get_token(client, holder)
    old_kid = jwt.decode(
        old_token, KeySet.import_key_set(await jwks(client)), algorithms=ALGS
    ).header["kid"]
    clock.advance(timedelta(minutes=5))
    oauth.rotate(actor="test")
    new_token = await get_token(client, holder)
    published = await jwks(client)
    new_kid = jwt.decode(new_token, KeySet.import_key_set(published), algorithms=ALGS).header["kid"]
    assert new_kid != old_kid
    assert [k["kid"] for k in published["keys"]] == [new_kid, old_kid]
    now = int(clock.now().timestamp())
    resource_server_check(old_token, published, now)
    resource_server_check(new_token, published, now)
    # 15 minutes of token lifetime plus 2 of skew after the rotation, the old key is gone.
    clock.advance(timedelta(minutes=17, seconds=1))
    later = await jwks(client)
    assert [k["kid"] for k in later["keys"]] == [new_kid]


async def test_keys_rotate_on_schedule(
    client: httpx.AsyncClient, holder: Holder, clock: FrozenClock
) -> None:
    first = (await jwks(client))["keys"]
    assert first == []  # no key before the first token
    await get_token(client, holder)
    [current] = (await jwks(client))["keys"]
    clock.advance(timedelta(days=29))
    await get_token(client, holder)
    assert [k["kid"] for k in (await jwks(client))["keys"]] == [current["kid"]]
    clock.advance(timedelta(days=1))
    token = await get_token(client, holder)
    kids = [k["kid"] for k in (await jwks(client))["keys"]]
    assert len(kids) == 2
    assert kids[1] == current["kid"]
    assert (
        jwt.decode(token, KeySet.import_key_set(await jwks(client)), algorithms=ALGS).header["kid"]
        == kids[0]
    )


@pytest.mark.parametrize("alg", ALGS)
def test_every_algorithm_signs_and_verifies(alg: str, clock: FrozenClock) -> None:
    from .conftest import oauth_settings

    with KeyHive("memory://", settings=oauth_settings(oauth_alg=alg), clock=clock) as hive:
        owner = hive.create_client("c")
        issued = hive.issue_secret(owner.client_id, scopes=["a:read"])
        service = OAuthService(hive, watch=False)
        token = service.token(
            grant_type="client_credentials", client_id=owner.client_id, client_secret=issued.token
        )
        published = service.jwks()
        assert published["keys"][0]["alg"] == alg
        header = jwt.decode(
            token.access_token, KeySet.import_key_set(published), algorithms=ALGS
        ).header
        assert header["alg"] == alg
        assert service.introspect(token.access_token)["active"] is True
        service.close()


def test_changing_the_algorithm_rotates_the_key(clock: FrozenClock) -> None:
    from keyhive.storage import MemoryStore

    from .conftest import oauth_settings

    store = MemoryStore()
    first = KeyHive(settings=oauth_settings(oauth_alg="Ed25519"), store=store, clock=clock)
    owner = first.create_client("c")
    issued = first.issue_secret(owner.client_id, scopes=["a:read"])
    grant = {
        "grant_type": "client_credentials",
        "client_id": owner.client_id,
        "client_secret": issued.token,
    }
    ed = OAuthService(first, watch=False)
    ed_token = ed.token(**grant)
    second = KeyHive(settings=oauth_settings(oauth_alg="ES256"), store=store, clock=clock)
    es = OAuthService(second, watch=False)
    es.token(**grant)
    assert [k["alg"] for k in es.jwks()["keys"]] == ["ES256", "Ed25519"]
    assert es.introspect(ed_token.access_token)["active"] is True
    for service in (ed, es):
        service.close()
