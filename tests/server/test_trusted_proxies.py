"""Forwarding headers count only from trusted proxies; the one scope rule for ``*``; the
last admin secret cannot be removed over HTTP."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from keyhive import KeyHive, Settings
from keyhive.core.addresses import TrustedProxies
from keyhive.core.tokens import make_token
from keyhive.server import create_app

from .helpers import assert_problem, bearer

pytestmark = pytest.mark.anyio


def _from(hive: KeyHive, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(hive), client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://keyhive.test")


@pytest.fixture
def proxied(clock: object) -> KeyHive:
    settings = Settings(hashing_profile="cheapest", trusted_proxies=("10.0.0.0/8",))
    return KeyHive("memory://", settings=settings)


async def test_an_untrusted_peer_cannot_claim_an_allowed_address(proxied: KeyHive) -> None:
    client = proxied.create_client("office")
    token = proxied.issue_secret(client.client_id, allowed_ips=["192.0.2.0/24"]).token
    claim = {**bearer(token), "X-Real-IP": "192.0.2.7", "X-Forwarded-For": "192.0.2.7"}
    async with _from(proxied, "127.0.0.1") as direct:
        refused = await direct.get("/v1/auth", headers=claim)
    assert assert_problem(refused, 403)["code"] == "IP_NOT_ALLOWED"
    async with _from(proxied, "10.1.2.3") as gateway:
        assert (await gateway.get("/v1/auth", headers=claim)).status_code == 200
    async with _from(proxied, "192.0.2.8") as inside:
        # From the allowed network itself, without any header: its socket address counts.
        assert (await inside.get("/v1/auth", headers=bearer(token))).status_code == 200


async def test_forged_addresses_do_not_spread_failures_to_other_callers(
    proxied: KeyHive,
) -> None:
    issued = proxied.issue_secret(proxied.create_client("c").client_id)
    async with _from(proxied, "198.51.100.4") as attacker:
        for _ in range(12):
            wrong = bearer(make_token(secret_id=issued.secret_id).text)
            answer = await attacker.get("/v1/auth", headers={**wrong, "X-Real-IP": "203.0.113.1"})
            assert answer.status_code == 401
    async with _from(proxied, "203.0.113.1") as victim:
        wrong = bearer(make_token().text)
        # The attacker's failures were counted against its own address, not the claimed one.
        assert "retry-after" not in (await victim.get("/v1/auth", headers=wrong)).headers
        assert (await victim.get("/v1/auth", headers=bearer(issued.token))).status_code == 200


@pytest.mark.parametrize(
    ("peer", "real", "forwarded", "expected"),
    [
        ("10.0.0.5", None, "192.0.2.1, 10.0.0.9", "192.0.2.1"),  # skip trusted hops
        ("10.0.0.5", None, "198.51.100.1, 192.0.2.1, 10.0.0.9", "192.0.2.1"),
        ("203.0.113.5", "192.0.2.1", "192.0.2.1", "203.0.113.5"),  # untrusted peer
        ("10.0.0.5", None, None, "10.0.0.5"),
        ("10.0.0.5", "garbage", None, None),
        (None, "192.0.2.1", None, None),
        ("::ffff:10.0.0.5", "192.0.2.1", None, "192.0.2.1"),
    ],
)
def test_the_client_address_rule(
    peer: str | None, real: str | None, forwarded: str | None, expected: str | None
) -> None:
    assert TrustedProxies(["10.0.0.0/8"]).client(peer, real, forwarded) == expected


def test_remembered_peers_answer_as_before_and_stay_bounded() -> None:
    """Socket peers' answers are remembered (the rule runs for every request): asked
    again, or past the memo's bound, every peer gets the answer a fresh rule gives."""
    proxies = TrustedProxies(["10.0.0.0/8"])
    peers = [f"10.{i >> 8 & 255}.{i & 255}.1" for i in range(3_000)]
    peers += [f"192.0.{i >> 8 & 255}.{i & 255}" for i in range(3_000)]
    peers += ["garbage", "::ffff:10.0.0.5", " 10.0.0.7 ", "x" * 100]
    for _ in range(2):
        for peer in peers:
            fresh = TrustedProxies(["10.0.0.0/8"]).client(peer, "192.0.2.7", None)
            assert proxies.client(peer, "192.0.2.7", None) == fresh
    assert proxies.client("10.0.0.5", "192.0.2.7") == "192.0.2.7"
    assert proxies.client("192.0.2.1", "10.0.0.1") == "192.0.2.1"
    assert len(proxies._peers) <= 4096


async def test_star_reaches_neither_admin_nor_verify(
    client: httpx.AsyncClient, hive: KeyHive
) -> None:
    star = hive.issue_secret(hive.create_client("ops").client_id, scopes=["*"]).token
    gate = await client.get("/v1/auth", params={"scope": "keyhive:admin"}, headers=bearer(star))
    assert assert_problem(gate, 403)["code"] == "INSUFFICIENT_SCOPE"
    verify = await client.post("/v1/verify", json={"token": star}, headers=bearer(star))
    assert assert_problem(verify, 403)["code"] == "INSUFFICIENT_SCOPE"
    assert hive.verify(star, ["keyhive:verify"]).code.value == "INSUFFICIENT_SCOPE"
    assert hive.verify(star, ["articles:read"]).valid


async def test_the_last_admin_secret_cannot_be_revoked_or_disabled_over_http(
    client: httpx.AsyncClient, hive: KeyHive, admin: dict[str, str], admin_token: str
) -> None:
    me = hive.verify(admin_token)
    assert me.secret_id is not None and me.client_id is not None
    revoke = await client.post(f"/v1/secrets/{me.secret_id}/revoke", headers=admin)
    body = assert_problem(revoke, 409)
    assert body["type"] == "urn:keyhive:problem:conflict"
    assert "last active admin" in str(body["detail"])
    disable = await client.post(f"/v1/clients/{me.client_id}/disable", headers=admin)
    assert assert_problem(disable, 409)["type"] == "urn:keyhive:problem:conflict"
    patch = await client.patch(
        f"/v1/clients/{me.client_id}", json={"enabled": False}, headers=admin
    )
    assert_problem(patch, 409)
    descope = await client.patch(
        f"/v1/secrets/{me.secret_id}", json={"scopes": ["keyhive:verify"]}, headers=admin
    )
    assert_problem(descope, 409)
    assert (await client.get("/v1/clients", headers=admin)).status_code == 200
    # With a second admin, either may go, but not both at once.
    other = hive.issue_secret(me.client_id, scopes=["keyhive:admin"])
    answers = await asyncio.gather(
        client.post(f"/v1/secrets/{me.secret_id}/revoke", headers=bearer(other.token)),
        client.post(f"/v1/secrets/{other.secret_id}/revoke", headers=admin),
    )
    assert sorted(a.status_code for a in answers) in ([200, 401], [200, 409])
    assert sum(hive.verify(t, ["keyhive:admin"]).valid for t in (admin_token, other.token)) == 1


def test_the_library_and_cli_may_still_revoke_the_last_admin(hive: KeyHive) -> None:
    issued = hive.bootstrap_admin()
    assert issued is not None
    hive.revoke(issued.secret_id)  # local access to the database: recovery is possible
    assert not hive.verify(issued.token).valid
