"""Every integration with a local hive takes keyhive's OAuth access tokens beside API
keys, judged by the same pipeline: the token's scopes, the same RFC 6750 answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from authlib.integrations.httpx_client import OAuth2Client

from keyhive import FrozenClock, KeyHive
from keyhive.integrations.tokens import AsyncTokenVerifier, TokenVerifier
from keyhive.server import create_app
from keyhive.service.oauth import AccessTokenVerifier, OAuthService
from tests.oauth.conftest import AUDIENCE, ISSUER, oauth_settings

from .apps import FRAMEWORKS, Framework, bearer
from .servers import serving


@pytest.fixture
def hive(clock: FrozenClock) -> Iterator[KeyHive]:
    h = KeyHive("memory://", settings=oauth_settings(), clock=clock)
    yield h
    h.close()


@pytest.mark.parametrize("framework", FRAMEWORKS, ids=lambda f: f.name)
def test_every_integration_takes_access_tokens(framework: Framework, hive: KeyHive) -> None:
    owner = hive.create_client("app")
    issued = hive.issue_secret(owner.client_id, scopes=["users:read", "articles:create"])
    reader = (
        OAuthService.for_hive(hive)
        .token(
            grant_type="client_credentials",
            client_id=owner.client_id,
            client_secret=issued.token,
            scope="users:read",
        )
        .access_token
    )
    with framework.serve(hive) as call:
        seen = call("GET", "/users", bearer(reader))
        assert seen.status == 200, seen.body
        refused = call("POST", "/articles", bearer(reader))
        assert refused.status == 403
        assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
@pytest.mark.parametrize("framework", FRAMEWORKS, ids=lambda f: f.name)
def test_authlib_tokens_pass_every_integration_with_only_the_jwks(
    framework: Framework, method: str, tmp_path: Path
) -> None:
    """Issue 16's acceptance: Authlib's own client gets a token from a real keyhive server
    and calls an API protected by each integration, which knows only the JWKS URL."""
    hive = KeyHive(f"sqlite:///{tmp_path / 'keyhive.db'}", settings=oauth_settings())
    owner = hive.create_client("reporting")
    issued = hive.issue_secret(owner.client_id, scopes=["users:read", "articles:create"])
    try:
        with serving(create_app(hive)) as keyhive_url:
            tokens = AccessTokenVerifier.from_jwks_url(
                f"{keyhive_url}/.well-known/jwks.json", issuer=ISSUER, audience=AUDIENCE
            )
            source = AsyncTokenVerifier(tokens) if framework.is_async else TokenVerifier(tokens)
            with (
                OAuth2Client(
                    owner.client_id,
                    issued.token,
                    token_endpoint_auth_method=method,
                    scope="users:read",
                ) as session,
                framework.serve(source) as call,
            ):
                got = session.fetch_token(
                    f"{keyhive_url}/oauth/token", grant_type="client_credentials"
                )
                token = got["access_token"]
                seen = call("GET", "/users", bearer(token))
                assert seen.status == 200, seen.body
                assert seen.body["client_id"] == owner.client_id
                assert seen.body["scopes"] == ["users:read"]
                refused = call("POST", "/articles", bearer(token))
                assert refused.status == 403
                assert call("GET", "/users", bearer(token + "x")).status == 401
                assert call("GET", "/users", bearer(issued.token)).status == 401, (
                    "an API key needs keyhive itself"
                )
    finally:
        hive.close()
