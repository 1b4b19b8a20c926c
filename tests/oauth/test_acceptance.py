"""Issue 16's acceptance: Authlib's own client gets tokens from a real keyhive server
(client_secret_basic and client_secret_post) and calls an API that checks them with
keyhive's verifier, fed only the published JWKS URL; a second API checks them with a
local KeyHive and refuses them once the secret is revoked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from keyhive import KeyHive
from keyhive.server import create_app
from keyhive.service.oauth import AccessTokenVerifier
from tests.integrations.servers import serving

from .conftest import AUDIENCE, oauth_settings

pytestmark = pytest.mark.slow


def protected_api(verifier: AccessTokenVerifier) -> Starlette:
    """A resource server: GET /articles needs articles:read, POST needs articles:write."""

    async def articles(request: Request) -> JSONResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return JSONResponse({"error": "no token"}, 401)
        needed = ["articles:read"] if request.method == "GET" else ["articles:write"]
        result = verifier.verify_cached(token, needed)
        if result is None:  # a key-set fetch or a database read: off the event loop
            result = await run_in_threadpool(verifier.verify, token, needed)
        if result.code.value == "INSUFFICIENT_SCOPE":
            return JSONResponse({"error": "insufficient_scope"}, 403)
        if not result.valid:
            return JSONResponse({"error": "invalid_token", "code": result.code.value}, 401)
        return JSONResponse({"client_id": result.client_id, "scopes": list(result.scopes)})

    return Starlette(routes=[Route("/articles", articles, methods=["GET", "POST"])])


@pytest.fixture
def hive(tmp_path: Path) -> Iterator[KeyHive]:
    h = KeyHive(f"sqlite:///{tmp_path / 'keyhive.db'}", settings=oauth_settings())
    yield h
    h.close()


@pytest.fixture
def keyhive_url(hive: KeyHive) -> Iterator[str]:
    with serving(create_app(hive)) as base:
        yield base


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_client_gets_a_token_and_calls_the_api(
    hive: KeyHive, keyhive_url: str, method: str
) -> None:
    owner = hive.create_client("reporting")
    issued = hive.issue_secret(owner.client_id, scopes=["articles:read"])
    remote = AccessTokenVerifier.from_jwks_url(
        f"{keyhive_url}/.well-known/jwks.json", issuer="https://auth.example", audience=AUDIENCE
    )
    with (
        serving(protected_api(remote)) as api_url,
        OAuth2Client(
            owner.client_id, issued.token, token_endpoint_auth_method=method, scope="articles:read"
        ) as session,
    ):
        token = session.fetch_token(f"{keyhive_url}/oauth/token", grant_type="client_credentials")
        assert token["token_type"] == "Bearer"
        assert token["scope"] == "articles:read"
        read = session.get(f"{api_url}/articles")
        assert read.status_code == 200, read.text
        assert read.json() == {"client_id": owner.client_id, "scopes": ["articles:read"]}
        write = session.post(f"{api_url}/articles")
        assert write.status_code == 403
        forged = httpx.get(
            f"{api_url}/articles", headers={"Authorization": f"Bearer {token['access_token']}x"}
        )
        assert forged.status_code == 401


def test_a_local_verifier_refuses_tokens_of_a_revoked_secret(
    hive: KeyHive, keyhive_url: str
) -> None:
    owner = hive.create_client("reporting")
    issued = hive.issue_secret(owner.client_id, scopes=["articles:*"])
    local = AccessTokenVerifier.for_hive(hive)
    with (
        serving(protected_api(local)) as api_url,
        OAuth2Client(owner.client_id, issued.token) as session,
    ):
        session.fetch_token(f"{keyhive_url}/oauth/token", grant_type="client_credentials")
        assert session.post(f"{api_url}/articles").status_code == 200
        hive.revoke(issued.secret_id)
        refused = session.get(f"{api_url}/articles")
        assert refused.status_code == 401
        assert refused.json()["code"] == "REVOKED"


def test_metadata_points_at_the_endpoints(keyhive_url: str) -> None:
    metadata = httpx.get(f"{keyhive_url}/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == "https://auth.example"
    assert metadata["token_endpoint"] == "https://auth.example/oauth/token"
    assert metadata["jwks_uri"] == "https://auth.example/.well-known/jwks.json"
    assert metadata["grant_types_supported"] == ["client_credentials"]
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }
