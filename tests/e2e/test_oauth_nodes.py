"""Access tokens on three ``keyhive serve`` nodes sharing one PostgreSQL: a token from one
node passes ``GET /v1/auth`` on the others, and revoking its secret (or the token itself)
makes every node refuse it within a second."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from keyhive import KeyHive, Settings
from tests.e2e.serve import KeyhiveServe

pytestmark = pytest.mark.slow
ENV = {
    "KEYHIVE_PEPPERS": "k1=oauth-node-tests-server-key-0123456789",
    "KEYHIVE_OAUTH_ISSUER": "https://auth.example",
    "KEYHIVE_OAUTH_AUDIENCE": "https://api.example",
}


def _within_a_second(check: Callable[[], bool]) -> float:
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < 1.0, "not within a second"
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.fixture
def nodes(pg_url: str) -> Iterator[tuple[KeyHive, list[KeyhiveServe]]]:
    hive = KeyHive(pg_url, settings=Settings.from_env(ENV, hashing_profile="cheapest"))
    servers = [KeyhiveServe(pg_url, env=ENV) for _ in range(3)]
    try:
        for server in servers:
            server.start()
        yield hive, servers
    finally:
        for server in servers:
            server.stop()
        hive.close()


def test_a_revoked_secret_ends_its_tokens_on_every_node(
    nodes: tuple[KeyHive, list[KeyhiveServe]],
) -> None:
    hive, servers = nodes
    owner = hive.create_client("reporting")
    issued = hive.issue_secret(owner.client_id, scopes=["articles:read"])
    with httpx.Client(timeout=10) as http:
        answer = http.post(
            f"{servers[0].base}/oauth/token",
            data={"grant_type": "client_credentials", "scope": "articles:read"},
            auth=(owner.client_id, issued.token),
        )
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]

        def status(server: KeyhiveServe) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return http.get(f"{server.base}/v1/auth", headers=headers).status_code

        assert [status(s) for s in servers] == [200, 200, 200]
        http.post(
            f"{servers[0].base}/v1/secrets/{issued.secret_id}/revoke",
            headers={"Authorization": f"Bearer {_admin(hive)}"},
        ).raise_for_status()
        for server in servers[1:]:
            _within_a_second(lambda s=server: status(s) == 401)


def _admin(hive: KeyHive) -> str:
    admin = hive.bootstrap_admin()
    assert admin is not None
    return admin.token
