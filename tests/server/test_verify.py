"""POST /v1/verify: 200 with a verdict for every well-formed request, problems otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from keyhive import FrozenClock, KeyHive
from keyhive.service.hive import ADMIN_SCOPE

from .helpers import assert_problem, basic, bearer

pytestmark = pytest.mark.anyio


@pytest.fixture
def issued(hive: KeyHive) -> tuple[str, str, str]:
    """(client_id, secret_id, token) of a reader client."""
    client = hive.create_client("reporting", owner="team-7", metadata={"plan": "pro"})
    got = hive.issue_secret(client.client_id, scopes=["articles:read"], expires_in="30d")
    return client.client_id, got.secret_id, got.token


async def test_valid_token_returns_the_verdict(
    client: httpx.AsyncClient, verifier: dict[str, str], issued: tuple[str, str, str]
) -> None:
    client_id, secret_id, token = issued
    r = await client.post(
        "/v1/verify", json={"token": token, "scopes": ["articles:read"]}, headers=verifier
    )
    assert r.status_code == 200
    body = r.json()
    assert body["valid"] is True
    assert body["code"] == "VALID"
    assert body["client_id"] == client_id
    assert body["secret_id"] == secret_id
    assert body["scopes"] == ["articles:read"]
    assert body["owner"] == "team-7"
    assert body["metadata"] == {"plan": "pro"}
    assert body["expires_at"] == "2030-01-31T00:00:00Z"
    assert token not in r.text


async def test_pair_form_verifies_a_token_as_secret(
    client: httpx.AsyncClient, verifier: dict[str, str], issued: tuple[str, str, str]
) -> None:
    client_id, _, token = issued
    r = await client.post(
        "/v1/verify", json={"client_id": client_id, "secret": token}, headers=verifier
    )
    assert r.status_code == 200
    assert r.json()["code"] == "VALID"
    other = await client.post(
        "/v1/verify", json={"client_id": "someone-else", "secret": token}, headers=verifier
    )
    assert other.json() == {**other.json(), "valid": False, "code": "NOT_FOUND"}


@pytest.mark.parametrize(
    "token",
    ["", "kh_nope", "kh_AAAAAAAAAAAAAAAA_" + "a" * 49, "x" * 5000, "\u2603"],
)
async def test_unknown_or_malformed_tokens_are_not_found(
    client: httpx.AsyncClient, verifier: dict[str, str], token: str
) -> None:
    r = await client.post("/v1/verify", json={"token": token}, headers=verifier)
    assert r.status_code == 200
    body = r.json()
    assert (body["valid"], body["code"], body["client_id"], body["secret_id"]) == (
        False,
        "NOT_FOUND",
        None,
        None,
    )


async def test_missing_scope_is_insufficient(
    client: httpx.AsyncClient, verifier: dict[str, str], issued: tuple[str, str, str]
) -> None:
    r = await client.post(
        "/v1/verify",
        json={"token": issued[2], "scopes": ["articles:read", "articles:write"]},
        headers=verifier,
    )
    assert (r.status_code, r.json()["code"], r.json()["valid"]) == (
        200,
        "INSUFFICIENT_SCOPE",
        False,
    )


async def test_revoked_expired_and_disabled(
    client: httpx.AsyncClient,
    verifier: dict[str, str],
    hive: KeyHive,
    clock: FrozenClock,
    issued: tuple[str, str, str],
) -> None:
    client_id, secret_id, token = issued
    other = hive.issue_secret(client_id, scopes=["articles:read"]).token

    async def code(tok: str) -> str:
        r = await client.post("/v1/verify", json={"token": tok}, headers=verifier)
        assert r.status_code == 200
        return str(r.json()["code"])

    hive.disable_client(client_id)
    assert await code(token) == "DISABLED"
    hive.enable_client(client_id)
    hive.revoke(secret_id)
    assert await code(token) == "REVOKED"
    assert await code(other) == "VALID"
    clock.advance(timedelta(days=31))
    hive.issue_secret(client_id)  # keeps the client busy; the first secret stays revoked
    late = hive.issue_secret(client_id, expires_in="1d").token
    clock.advance(timedelta(days=2))
    assert await code(late) == "EXPIRED"


async def test_caller_needs_the_verify_scope(
    client: httpx.AsyncClient, hive: KeyHive, issued: tuple[str, str, str]
) -> None:
    body = {"token": issued[2]}
    missing = await client.post("/v1/verify", json=body)
    assert_problem(missing, 401)
    assert missing.headers["www-authenticate"] == 'Bearer realm="keyhive"'

    wrong = await client.post("/v1/verify", json=body, headers=bearer(issued[2]))
    problem = assert_problem(wrong, 403)
    assert problem["code"] == "INSUFFICIENT_SCOPE"
    assert 'scope="keyhive:verify"' in wrong.headers["www-authenticate"]

    bogus = await client.post("/v1/verify", json=body, headers=bearer("kh_bogus"))
    assert_problem(bogus, 401)
    assert 'error="invalid_token"' in bogus.headers["www-authenticate"]


async def test_admin_scope_alone_does_not_allow_verify(
    client: httpx.AsyncClient, hive: KeyHive, issued: tuple[str, str, str]
) -> None:
    ops = hive.create_client("ops")
    admin_only = hive.issue_secret(ops.client_id, scopes=[ADMIN_SCOPE]).token
    everything = hive.issue_secret(ops.client_id, scopes=["*"]).token
    keyhive_all = hive.issue_secret(ops.client_id, scopes=["keyhive:*"]).token
    body = {"token": issued[2]}
    assert_problem(await client.post("/v1/verify", json=body, headers=bearer(admin_only)), 403)
    # '*' granted for the protected API must not reach into keyhive's own scopes.
    assert_problem(await client.post("/v1/verify", json=body, headers=bearer(everything)), 403)
    ok = await client.post("/v1/verify", json=body, headers=bearer(keyhive_all))
    assert ok.status_code == 200


async def test_caller_may_use_api_key_or_basic(
    client: httpx.AsyncClient, hive: KeyHive, issued: tuple[str, str, str]
) -> None:
    gateway = hive.create_client("gateway")
    token = hive.issue_secret(gateway.client_id, scopes=["keyhive:verify"]).token
    body = {"token": issued[2]}
    for headers in ({"X-API-Key": token}, basic(gateway.client_id, token)):
        r = await client.post("/v1/verify", json=body, headers=headers)
        assert (r.status_code, r.json()["code"]) == (200, "VALID")


async def test_unauthenticated_caller_gets_401_even_with_a_bad_body(
    client: httpx.AsyncClient,
) -> None:
    assert_problem(await client.post("/v1/verify", content=b"{nope"), 401)


@pytest.mark.parametrize(
    ("content", "status", "where"),
    [
        (b"{not json", 400, None),
        (b"", 400, None),
        (b"\xff\xfe", 400, None),
        (b"[" * 5000 + b"]" * 5000, 400, None),
        (b"[]", 422, ["body"]),
        (b'"kh_x"', 422, ["body"]),
        (b"{}", 422, ["body", "client_id"]),
        (b'{"token": 5}', 422, ["body", "token"]),
        (b'{"token": null}', 422, ["body", "token"]),
        (b'{"client_id": "a"}', 422, ["body", "secret"]),
        (b'{"token": "t", "client_id": "a", "secret": "s"}', 422, ["body", "client_id"]),
        (b'{"token": "t", "scopes": "articles:read"}', 422, ["body", "scopes"]),
        (b'{"token": "t", "scopes": ["not a scope"]}', 422, ["body", "scopes", 0]),
        (b'{"token": "t", "scopes": [1]}', 422, ["body", "scopes", 0]),
        (b'{"token": "t", "ip": "300.1.1.1"}', 422, ["body", "ip"]),
        (b'{"token": "t", "extra": 1}', 422, ["body", "extra"]),
    ],
)
async def test_malformed_bodies_are_problems(
    client: httpx.AsyncClient,
    verifier: dict[str, str],
    content: bytes,
    status: int,
    where: list[object] | None,
) -> None:
    r = await client.post(
        "/v1/verify",
        content=content,
        headers={**verifier, "Content-Type": "application/json"},
    )
    problem = assert_problem(r, status)
    if where is not None:
        assert where in [e["loc"] for e in problem["errors"]]  # type: ignore[attr-defined]


async def test_ip_is_accepted_in_either_family(
    client: httpx.AsyncClient, verifier: dict[str, str], issued: tuple[str, str, str]
) -> None:
    for ip in ("203.0.113.9", "2001:db8::1"):
        r = await client.post("/v1/verify", json={"token": issued[2], "ip": ip}, headers=verifier)
        assert r.json()["code"] == "VALID"


async def test_errors_never_echo_a_secret(
    client: httpx.AsyncClient, verifier: dict[str, str], issued: tuple[str, str, str]
) -> None:
    token = issued[2]
    attempts = [
        {"token": [token]},
        {"client_id": "x", "secret": [token]},
        {"token": "t", "scopes": [token]},
        {"token": "t", "ip": token},
        {"token": "t", token: 1},
    ]
    for body in attempts:
        r = await client.post("/v1/verify", json=body, headers=verifier)
        assert r.status_code == 422
        assert token not in r.text


async def test_bodies_over_64_kib_are_refused(
    client: httpx.AsyncClient, verifier: dict[str, str]
) -> None:
    big = b'{"token": "' + b"a" * (70 * 1024) + b'"}'
    declared = await client.post(
        "/v1/verify", content=big, headers={**verifier, "Content-Type": "application/json"}
    )
    assert_problem(declared, 413)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    streamed = await client.post("/v1/verify", content=chunks(), headers=verifier)
    assert "content-length" not in streamed.request.headers
    assert_problem(streamed, 413)


async def test_a_body_just_under_the_limit_is_read(
    client: httpx.AsyncClient, verifier: dict[str, str]
) -> None:
    body = b'{"token": "' + b"a" * (60 * 1024) + b'"}'
    r = await client.post(
        "/v1/verify", content=body, headers={**verifier, "Content-Type": "application/json"}
    )
    assert (r.status_code, r.json()["code"]) == (200, "NOT_FOUND")
