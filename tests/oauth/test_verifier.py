"""The resource-side verifier: what it accepts and refuses, and how it fetches keys.

The JWKS URL is served here by httpx's MockTransport over the real key ring, so the
tests can count fetches and take the URL down (test_acceptance.py uses a real socket).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OKPKey

from keyhive import Code, FrozenClock, KeyHive
from keyhive.core.oauth import looks_like_jwt
from keyhive.service.oauth import AccessTokenVerifier, KeysUnavailable, OAuthService

from .conftest import AUDIENCE, ISSUER, Holder

JWKS_URL = "https://auth.example/.well-known/jwks.json"


class JwksServer:
    """The JWKS endpoint as a transport: counts requests, can go down."""

    def __init__(self, service: OAuthService) -> None:
        self.service = service
        self.requests = 0
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.down:
            return httpx.Response(503)
        return httpx.Response(200, json=self.service.jwks())


@pytest.fixture
def jwks_server(oauth: OAuthService) -> JwksServer:
    return JwksServer(oauth)


@pytest.fixture
def remote(jwks_server: JwksServer, clock: FrozenClock) -> Iterator[AccessTokenVerifier]:
    http = httpx.Client(transport=httpx.MockTransport(jwks_server))
    yield AccessTokenVerifier.from_jwks_url(
        JWKS_URL, issuer=ISSUER, audience=AUDIENCE, http=http, clock=clock
    )
    http.close()


def token_for(oauth: OAuthService, holder: Holder, **extra: Any) -> str:
    return oauth.token(
        grant_type="client_credentials",
        client_id=holder.client_id,
        client_secret=holder.secret,
        **extra,
    ).access_token


def forge(header: dict[str, Any], claims: dict[str, Any], key: Any = None) -> str:
    key = key or OKPKey.generate_key("Ed25519", private=True)
    return jwt.encode(header, claims, key, algorithms=[header.get("alg", "Ed25519")])


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "==")))


def test_a_good_token_passes_with_its_scopes(
    remote: AccessTokenVerifier, oauth: OAuthService, holder: Holder
) -> None:
    result = remote.verify(token_for(oauth, holder), ["articles:read"])
    assert result.code is Code.VALID
    assert result.client_id == holder.client_id
    assert result.secret_id == holder.issued.secret_id
    assert result.scopes == ("articles:read", "articles:write")
    assert result.client is None  # no local KeyHive: claims only
    denied = remote.verify(token_for(oauth, holder, scope="articles:read"), ["articles:write"])
    assert denied.code is Code.INSUFFICIENT_SCOPE


def test_audience_issuer_and_time(
    remote: AccessTokenVerifier, oauth: OAuthService, holder: Holder, clock: FrozenClock
) -> None:
    elsewhere = token_for(oauth, holder, resources=["https://other.example"])
    assert remote.verify(elsewhere).code is Code.NOT_FOUND
    token = token_for(oauth, holder)
    clock.advance(timedelta(minutes=15, seconds=20))  # within the 30 s leeway
    assert remote.verify(token).valid
    clock.advance(timedelta(seconds=15))
    assert remote.verify(token).code is Code.EXPIRED
    other_issuer = AccessTokenVerifier(
        remote.keys, issuer="https://evil.example", audience=AUDIENCE, clock=clock
    )
    assert other_issuer.verify(token_for(oauth, holder)).code is Code.NOT_FOUND


def test_forged_and_malformed_tokens_are_not_found(
    remote: AccessTokenVerifier, oauth: OAuthService, holder: Holder, clock: FrozenClock
) -> None:
    genuine = token_for(oauth, holder)
    claims = claims_of(genuine)
    kid = json.loads(base64.urlsafe_b64decode(genuine.split(".")[0] + "=="))["kid"]
    head, body, sig = genuine.split(".")
    other_body = (
        base64.urlsafe_b64encode(json.dumps({**claims, "scope": "*"}).encode())
        .rstrip(b"=")
        .decode()
    )
    candidates = [
        f"{head}.{other_body}.{sig}",  # claims changed after signing
        forge({"alg": "Ed25519", "typ": "at+jwt", "kid": kid}, claims),  # another key, our kid
        forge({"alg": "Ed25519", "typ": "JWT", "kid": kid}, claims),  # an ID token, say
        holder.secret,
        "eyJ.eyJ.",
        "eyJhbGciOiJub25lIn0." + body + ".",  # alg none
        "a" * 9000,
        "",
    ]
    for text in candidates:
        assert remote.verify(text).code is Code.NOT_FOUND, text[:40]
    none_alg = (
        base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "at+jwt", "kid": kid}).encode())
        .rstrip(b"=")
        .decode()
    )
    assert remote.verify(f"{none_alg}.{body}.x").code is Code.NOT_FOUND


def test_unknown_kids_cannot_make_it_fetch_on_every_request(
    remote: AccessTokenVerifier, oauth: OAuthService, holder: Holder, jwks_server: JwksServer
) -> None:
    assert remote.verify(token_for(oauth, holder)).valid
    assert jwks_server.requests == 1
    claims = claims_of(token_for(oauth, holder))
    for n in range(50):
        garbage = forge({"alg": "Ed25519", "typ": "at+jwt", "kid": f"made-up-{n}"}, claims)
        assert remote.verify(garbage).code is Code.NOT_FOUND
    assert jwks_server.requests <= 2  # at most one refresh within min_refresh (10 s)


def test_a_new_key_is_fetched_when_its_first_token_arrives(
    jwks_server: JwksServer, oauth: OAuthService, holder: Holder, clock: FrozenClock
) -> None:
    http = httpx.Client(transport=httpx.MockTransport(jwks_server))
    verifier = AccessTokenVerifier.from_jwks_url(
        JWKS_URL, issuer=ISSUER, audience=AUDIENCE, http=http, clock=clock, min_refresh=0
    )
    assert verifier.verify(token_for(oauth, holder)).valid
    oauth.rotate()
    assert verifier.verify_cached(token_for(oauth, holder)) is None  # needs a fetch
    assert verifier.verify(token_for(oauth, holder)).valid
    assert jwks_server.requests == 2
    http.close()


def test_a_jwks_that_cannot_be_had_fails_closed(
    jwks_server: JwksServer, remote: AccessTokenVerifier, oauth: OAuthService, holder: Holder
) -> None:
    jwks_server.down = True
    with pytest.raises(KeysUnavailable):
        remote.verify(token_for(oauth, holder))


def test_verify_cached_answers_without_io_once_keys_are_known(
    remote: AccessTokenVerifier, oauth: OAuthService, holder: Holder, jwks_server: JwksServer
) -> None:
    token = token_for(oauth, holder)
    assert remote.verify_cached(token) is None
    assert remote.verify(token).valid
    cached = remote.verify_cached(token, ["articles:write"])
    assert cached is not None and cached.valid
    assert remote.verify_cached("kh_not_a_jwt") is not None


def test_a_local_verifier_sees_this_process_revoke_at_once(
    hive: KeyHive, oauth: OAuthService, holder: Holder
) -> None:
    verifier = AccessTokenVerifier.for_hive(hive)
    token = token_for(oauth, holder)
    assert verifier.verify(token).valid
    assert verifier.verify_cached(token) is not None  # secret state cached: no read
    hive.update(holder.issued.secret_id, scopes=["articles:read"])
    narrowed = verifier.verify(token, ["articles:write"])
    assert narrowed.code is Code.INSUFFICIENT_SCOPE
    assert narrowed.scopes == ("articles:read",)
    oauth.revoke(token, client_id=holder.client_id)
    assert verifier.verify(token).code is Code.REVOKED
    second = token_for(oauth, holder)
    hive.revoke(holder.issued.secret_id)
    assert verifier.verify(second).code is Code.REVOKED


def test_jwts_are_told_apart_from_keyhive_credentials(oauth: OAuthService, holder: Holder) -> None:
    assert looks_like_jwt(token_for(oauth, holder))
    assert not looks_like_jwt(holder.secret)
    assert not looks_like_jwt("a" * 128 + "." + "b" * 16)  # an article secret
    assert not looks_like_jwt("eyJ..")
