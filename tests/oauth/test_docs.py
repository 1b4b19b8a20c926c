"""The code in docs/oauth.md, run for real: the five-line clients (Authlib and httpx)
against a keyhive server on a socket, calling an API guarded by the doc's own
keyhive-free resource server check."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from keyhive import KeyHive
from keyhive.server import create_app
from tests.integrations.servers import serving

from .conftest import AUDIENCE, ISSUER, oauth_settings

pytestmark = pytest.mark.slow
DOC = Path(__file__).resolve().parents[2] / "docs" / "oauth.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def block_with(marker: str) -> str:
    found = [b for b in python_blocks() if marker in b]
    assert len(found) == 1, f"docs/oauth.md lost its block with {marker!r}"
    return found[0]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[KeyHive, str]]:
    hive = KeyHive(f"sqlite:///{tmp_path / 'k.db'}", settings=oauth_settings())
    with serving(create_app(hive)) as base:
        yield hive, base
    hive.close()


def guarded_api(check: Any) -> Starlette:
    async def articles(request: Request) -> JSONResponse:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            claims = check(token, "articles:read")
        except Exception as exc:
            return JSONResponse({"refused": type(exc).__name__}, 401)
        return JSONResponse({"client": claims["client_id"]})

    return Starlette(routes=[Route("/articles", articles)])


@pytest.mark.parametrize("marker", ["OAuth2Client(", "auth=(CLIENT_ID"])
def test_the_documented_clients_and_resource_server(
    served: tuple[KeyHive, str], marker: str
) -> None:
    hive, base = served
    owner = hive.create_client("reporting")
    secret = hive.issue_secret(owner.client_id, scopes=["articles:read"]).token
    server: dict[str, Any] = {"KEYHIVE": base, "ISSUER": ISSUER, "AUDIENCE": AUDIENCE}
    # The resource server fetches the JWKS when it starts: make the first key exist.
    import httpx

    httpx.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(owner.client_id, secret),
    ).raise_for_status()
    exec(block_with("JWTClaimsRegistry"), server)
    with serving(guarded_api(server["check"])) as api:
        names = {"CLIENT_ID": owner.client_id, "CLIENT_SECRET": secret, "KEYHIVE": base, "API": api}
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(block_with(marker), names)
    assert printed.getvalue().strip() == str({"client": owner.client_id})
    with pytest.raises(ValueError, match="not an access token"):
        server["check"](_id_token_like(hive), "articles:read")


def _id_token_like(hive: KeyHive) -> str:
    """A JWT signed by keyhive's current key whose typ is not at+jwt."""
    from joserfc import jwt

    from keyhive.service.oauth import OAuthService

    key = OAuthService.for_hive(hive).signing.current()
    header = {"alg": key.alg, "kid": key.kid, "typ": "JWT"}
    return jwt.encode(
        header, {"iss": ISSUER, "aud": AUDIENCE, "exp": 2**33}, key.private, algorithms=[key.alg]
    )
