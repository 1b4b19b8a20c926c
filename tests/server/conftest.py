"""Fixtures for the HTTP service: an app over the memory hive, an async client, tokens.

Every test here also runs under the credential-echo scan (:mod:`tests.server.leakscan`):
a response or log line holding a run of a token's random part fails the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from keyhive import KeyHive
from keyhive.server import create_app
from keyhive.service.hive import VERIFY_SCOPE

from .helpers import bearer
from .leakscan import SCANNER, Scanner, install


@pytest.fixture(scope="session")
def leak_scanner() -> Iterator[Scanner]:
    """httpx's clients, Issued and the root logger feed the session's scanner."""
    with pytest.MonkeyPatch.context() as patch, install(SCANNER, patch):
        yield SCANNER


@pytest.fixture(autouse=True)
def no_credential_echoed(leak_scanner: Scanner) -> Iterator[None]:
    """Fail the test whose responses or log lines repeated a token."""
    leak_scanner.take_hits()
    yield
    hits = leak_scanner.take_hits()
    assert not hits, "credentials echoed:\n" + "\n".join(hits)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app(hive: KeyHive) -> FastAPI:
    return create_app(hive)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://keyhive.test") as c:
        yield c


@pytest.fixture
def admin_token(hive: KeyHive) -> str:
    issued = hive.bootstrap_admin()
    assert issued is not None
    return issued.token


@pytest.fixture
def admin(admin_token: str) -> dict[str, str]:
    """Headers of a caller holding keyhive:admin and keyhive:verify."""
    return bearer(admin_token)


@pytest.fixture
def verifier(hive: KeyHive) -> dict[str, str]:
    """Headers of a caller holding only keyhive:verify (an API gateway, say)."""
    client = hive.create_client("gateway")
    return bearer(hive.issue_secret(client.client_id, scopes=[VERIFY_SCOPE]).token)
