"""Three KeyHive nodes on one PostgreSQL: revoking a secret makes its tokens inactive
in introspection on every node at once, and every node's local verifier refuses them
within a second; the same for a token revoked by its jti, and for a disabled client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from keyhive import Code, KeyHive
from keyhive.service.oauth import AccessTokenVerifier, OAuthService

from .conftest import oauth_settings

pytestmark = pytest.mark.slow


@pytest.fixture
def nodes(pg_url: str) -> Iterator[list[KeyHive]]:
    hives = [KeyHive(pg_url, settings=oauth_settings()) for _ in range(3)]
    yield hives
    for hive in hives:
        hive.close()


def within_a_second(check: Callable[[], bool]) -> float:
    """Seconds until ``check`` holds; fails after one second."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < 1.0, "not within a second"
        time.sleep(0.02)
    return time.monotonic() - start


def test_revocations_reach_every_node(nodes: list[KeyHive]) -> None:
    services = [OAuthService.for_hive(h) for h in nodes]
    verifiers = [AccessTokenVerifier.for_hive(h) for h in nodes]
    owner = nodes[0].create_client("reporting")
    issued = nodes[0].issue_secret(owner.client_id, scopes=["articles:read"])
    grant = {
        "grant_type": "client_credentials",
        "client_id": owner.client_id,
        "client_secret": issued.token,
    }
    by_secret = services[0].token(**grant).access_token
    by_jti = services[1].token(**grant).access_token
    for verifier in verifiers:  # every node has seen both tokens and cached their secret
        assert verifier.verify(by_secret, ["articles:read"]).valid
        assert verifier.verify(by_jti, ["articles:read"]).valid

    services[2].revoke(by_jti, client_id=owner.client_id)
    for service in services:
        assert service.introspect(by_jti) == {"active": False}
    for verifier in verifiers:
        within_a_second(lambda v=verifier: v.verify(by_jti).code is Code.REVOKED)
    assert all(v.verify(by_secret).valid for v in verifiers)

    nodes[1].revoke(issued.secret_id)
    for service in services:
        assert service.introspect(by_secret) == {"active": False}
    for verifier in verifiers:
        within_a_second(lambda v=verifier: v.verify(by_secret).code is Code.REVOKED)


def test_disabling_the_client_reaches_every_node(nodes: list[KeyHive]) -> None:
    services = [OAuthService.for_hive(h) for h in nodes]
    verifiers = [AccessTokenVerifier.for_hive(h) for h in nodes]
    owner = nodes[0].create_client("reporting")
    issued = nodes[0].issue_secret(owner.client_id, scopes=["articles:read"])
    token = (
        services[0]
        .token(
            grant_type="client_credentials", client_id=owner.client_id, client_secret=issued.token
        )
        .access_token
    )
    assert all(v.verify(token).valid for v in verifiers)
    nodes[2].disable_client(owner.client_id)
    for service in services:
        assert service.introspect(token) == {"active": False}
    for verifier in verifiers:
        within_a_second(lambda v=verifier: v.verify(token).code is Code.DISABLED)


def test_token_revokes_travel_over_redis_too(tmp_path: object, redis_url: str) -> None:
    """With Redis, a revoked jti reaches the other node by pub/sub (polling is slowed to
    a minute here, so only Redis can deliver it within the second)."""
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    url = f"sqlite:///{tmp_path / 'k.db'}"
    settings = oauth_settings(redis_url=redis_url)
    a, b = (KeyHive(url, settings=settings, change_interval=60.0) for _ in range(2))
    try:
        services = [OAuthService(h) for h in (a, b)]
        verifier = AccessTokenVerifier.for_hive(b, service=services[1])
        owner = a.create_client("c")
        issued = a.issue_secret(owner.client_id, scopes=["a:read"])
        token = (
            services[0]
            .token(
                grant_type="client_credentials",
                client_id=owner.client_id,
                client_secret=issued.token,
            )
            .access_token
        )
        assert verifier.verify(token).valid
        time.sleep(0.3)  # the subscriber is connected
        services[0].revoke(token, client_id=owner.client_id)
        within_a_second(lambda: verifier.verify(token).code is Code.REVOKED)
        for service in services:
            service.close()
    finally:
        a.close()
        b.close()
