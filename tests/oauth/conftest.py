"""Fixtures for OAuth: a hive with a durable server key (as KEYHIVE_PEPPERS gives it),
an issuer and an audience, the ASGI app over it, and a client with a secret."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from keyhive import FrozenClock, Issued, KeyHive, Settings
from keyhive.server import create_app
from keyhive.service.oauth import OAuthService

ISSUER = "https://auth.example"
AUDIENCE = "https://api.example"
PEPPERS = (("k1", b"0123456789abcdef0123456789abcdef"),)


def oauth_settings(**changes: object) -> Settings:
    base = Settings(
        hashing_profile="cheapest",
        peppers=PEPPERS,
        oauth_issuer=ISSUER,
        oauth_audience=AUDIENCE,
    )
    return base.with_overrides(**changes)


def basic(client_id: str, secret: str) -> dict[str, str]:
    """HTTP Basic as RFC 6749 §2.3.1 has it: each part form-encoded, then base64."""
    from urllib.parse import quote

    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Holder:
    """A client and one of its secrets."""

    client_id: str
    issued: Issued

    @property
    def secret(self) -> str:
        return self.issued.token


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings() -> Settings:
    return oauth_settings()


@pytest.fixture
def hive(clock: FrozenClock, settings: Settings) -> Iterator[KeyHive]:
    h = KeyHive("memory://", settings=settings, clock=clock)
    yield h
    h.close()


@pytest.fixture
def oauth(hive: KeyHive) -> OAuthService:
    return OAuthService.for_hive(hive)


@pytest.fixture
def app(hive: KeyHive) -> FastAPI:
    return create_app(hive)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://keyhive.test") as c:
        yield c


@pytest.fixture
def holder(hive: KeyHive) -> Holder:
    owner = hive.create_client("reporting", owner="team-7")
    issued = hive.issue_secret(owner.client_id, scopes=["articles:read", "articles:write"])
    return Holder(owner.client_id, issued)


@pytest.fixture
def gateway(hive: KeyHive) -> dict[str, str]:
    """Headers of a caller holding keyhive:verify (for introspection)."""
    owner = hive.create_client("gateway")
    token = hive.issue_secret(owner.client_id, scopes=["keyhive:verify"]).token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def sync_client(app: FastAPI) -> Iterator[TestClient]:
    """A blocking client (for Hypothesis, which drives plain functions)."""
    with TestClient(app, base_url="http://keyhive.test") as c:
        yield c
