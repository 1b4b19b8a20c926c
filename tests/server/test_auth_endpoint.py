"""GET /v1/auth: the gateway endpoint answers 200/401/403/429 with RFC 6750 challenges."""

from __future__ import annotations

import time

import http_sf
import httpx
import pytest
from starlette.datastructures import Headers

from keyhive import Code, KeyHive, Verification
from keyhive.core.addresses import TrustedProxies
from keyhive.core.model import RateLimitStatus
from keyhive.server.hot import ratelimit_headers

from .helpers import assert_problem, basic, bearer

pytestmark = pytest.mark.anyio


@pytest.fixture
def reader(hive: KeyHive) -> tuple[str, str, str]:
    """(client_id, secret_id, token) with scopes articles:read and users:read."""
    client = hive.create_client("reporting")
    got = hive.issue_secret(client.client_id, scopes=["articles:read", "users:read"])
    return client.client_id, got.secret_id, got.token


@pytest.mark.parametrize("how", ["bearer", "api-key", "basic"])
async def test_valid_credential_passes_with_identity_headers(
    client: httpx.AsyncClient, reader: tuple[str, str, str], how: str
) -> None:
    client_id, secret_id, token = reader
    headers = {
        "bearer": bearer(token),
        "api-key": {"X-API-Key": token},
        "basic": basic(client_id, token),
    }[how]
    r = await client.get("/v1/auth", params={"scope": "articles:read"}, headers=headers)
    assert r.status_code == 200
    assert r.headers["x-keyhive-client-id"] == client_id
    assert r.headers["x-keyhive-secret-id"] == secret_id
    assert r.headers["x-keyhive-scopes"] == "articles:read users:read"
    assert r.headers["x-keyhive-code"] == "VALID"
    assert r.content == b"", "a gateway reads headers only"


async def test_scope_parameter_repeats_and_all_must_hold(
    client: httpx.AsyncClient, reader: tuple[str, str, str]
) -> None:
    token = reader[2]
    both = await client.get("/v1/auth?scope=articles:read&scope=users:read", headers=bearer(token))
    assert both.status_code == 200
    spaced = await client.get(
        "/v1/auth", params={"scope": "articles:read users:read"}, headers=bearer(token)
    )
    assert spaced.status_code == 200
    denied = await client.get(
        "/v1/auth?scope=articles:read&scope=articles:write", headers=bearer(token)
    )
    problem = assert_problem(denied, 403)
    assert problem["code"] == "INSUFFICIENT_SCOPE"
    assert denied.headers["www-authenticate"] == (
        'Bearer realm="keyhive", error="insufficient_scope", scope="articles:read articles:write"'
    )


async def test_missing_credential_is_401_without_error_code(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/auth")
    assert_problem(r, 401)
    assert r.headers["www-authenticate"] == 'Bearer realm="keyhive"'


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Digest abc", "Basic !!!", "Basic " + "YWJj", "x" * 5000],
)
async def test_unreadable_credential_is_401_invalid_request(
    client: httpx.AsyncClient, authorization: str
) -> None:
    r = await client.get("/v1/auth", headers={"Authorization": authorization})
    assert_problem(r, 401)
    assert 'error="invalid_request"' in r.headers["www-authenticate"]


async def test_unknown_revoked_and_disabled_are_401_invalid_token(
    client: httpx.AsyncClient, hive: KeyHive, reader: tuple[str, str, str]
) -> None:
    client_id, secret_id, token = reader
    fake = "kh_" + "A" * 16 + "_" + "a" * 49
    expected = 'Bearer realm="keyhive", error="invalid_token"'

    async def check(headers: dict[str, str], code: str) -> None:
        r = await client.get("/v1/auth", headers=headers)
        assert assert_problem(r, 401)["code"] == code
        assert r.headers["www-authenticate"] == expected
        assert "x-keyhive-client-id" not in r.headers

    await check(bearer(fake), "NOT_FOUND")
    await check(basic(client_id, "wrong-secret"), "NOT_FOUND")
    hive.disable_client(client_id)
    await check(bearer(token), "DISABLED")
    hive.enable_client(client_id)
    hive.revoke(secret_id)
    await check(bearer(token), "REVOKED")


async def test_invalid_scope_parameter_is_400(
    client: httpx.AsyncClient, reader: tuple[str, str, str]
) -> None:
    r = await client.get("/v1/auth", params={"scope": "no scope here!"}, headers=bearer(reader[2]))
    assert_problem(r, 400)


async def test_gateways_may_forward_any_method(
    client: httpx.AsyncClient, reader: tuple[str, str, str]
) -> None:
    for method in ("POST", "PUT", "DELETE", "HEAD"):
        r = await client.request(method, "/v1/auth", headers=bearer(reader[2]))
        assert r.status_code == 200, method
        assert r.headers["x-keyhive-secret-id"] == reader[1]


@pytest.mark.parametrize(
    ("code", "retry_after", "status", "expected"),
    [
        (Code.RATE_LIMITED, 2.5, 429, {"retry-after": "3"}),
        (
            Code.NOT_FOUND,
            30.0,
            401,
            {
                "retry-after": "30",
                "www-authenticate": 'Bearer realm="keyhive", error="invalid_token"',
            },
        ),
        (Code.USAGE_EXCEEDED, None, 429, {"retry-after": "1"}),
        (
            Code.IP_NOT_ALLOWED,
            None,
            403,
            {"www-authenticate": 'Bearer realm="keyhive", error="insufficient_scope"'},
        ),
        (
            Code.EXPIRED,
            None,
            401,
            {"www-authenticate": 'Bearer realm="keyhive", error="invalid_token"'},
        ),
    ],
)
async def test_limit_and_ip_verdicts_map_to_status(
    client: httpx.AsyncClient,
    hive: KeyHive,
    reader: tuple[str, str, str],
    monkeypatch: pytest.MonkeyPatch,
    code: Code,
    retry_after: float | None,
    status: int,
    expected: dict[str, str],
) -> None:
    # Stand in for the facade's verdict, to pin the mapping of each code exactly.
    def verdict(*args: object, **kwargs: object) -> Verification:
        return Verification(code, retry_after=retry_after)

    monkeypatch.setattr(hive.pipeline, "start", verdict)
    r = await client.get("/v1/auth", headers=bearer(reader[2]))
    assert assert_problem(r, status)["code"] == code.value
    for name, value in expected.items():
        assert r.headers[name] == value


async def test_forwarded_client_ip_reaches_the_facade(
    client: httpx.AsyncClient,
    hive: KeyHive,
    reader: tuple[str, str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str | None] = []
    real = hive.pipeline.start

    def spy(*args: object, ip: str | None = None, **kwargs: object) -> Verification:
        seen.append(ip)
        return real(*args, ip=ip, **kwargs)  # type: ignore[arg-type, return-value]

    monkeypatch.setattr(hive.pipeline, "start", spy)
    headers = {**bearer(reader[2]), "X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    assert (await client.get("/v1/auth", headers=headers)).status_code == 200
    assert seen == ["203.0.113.7"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-real-ip": "203.0.113.7", "x-forwarded-for": "10.0.0.1"}, "203.0.113.7"),
        ({"x-forwarded-for": "198.51.100.1, 203.0.113.7"}, "203.0.113.7"),
        ({"x-forwarded-for": "2001:db8::1"}, "2001:db8::1"),
        ({"x-forwarded-for": "not-an-ip"}, None),
        ({}, "127.0.0.1"),  # a local caller without a proxy in front: its own address
    ],
)
def test_client_ip_prefers_x_real_ip_then_the_last_hop(
    headers: dict[str, str], expected: str | None
) -> None:
    found = Headers(headers)
    got = TrustedProxies().client("127.0.0.1", found.get("x-real-ip"), found.get("x-forwarded-for"))
    assert got == expected


async def test_limits_set_over_the_admin_api_shape_gateway_answers(
    client: httpx.AsyncClient, hive: KeyHive, admin: dict[str, str]
) -> None:
    owner = hive.create_client("metered")
    r = await client.post(
        f"/v1/clients/{owner.client_id}/secrets",
        json={"scopes": ["a:read"], "rate": "1/minute", "allowed_ips": ["10.0.0.0/8"]},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["rate_limit"] is not None
    assert r.json()["allowed_ips"] == ["10.0.0.0/8"]
    token = r.json()["token"]
    outside = await client.get("/v1/auth", headers={**bearer(token), "X-Real-IP": "203.0.113.7"})
    assert assert_problem(outside, 403)["code"] == "IP_NOT_ALLOWED"
    assert 'error="insufficient_scope"' in outside.headers["www-authenticate"]
    inside = {**bearer(token), "X-Real-IP": "10.1.2.3"}
    assert (await client.get("/v1/auth", headers=inside)).status_code == 200
    limited = await client.get("/v1/auth", headers=inside)
    assert assert_problem(limited, 429)["code"] == "RATE_LIMITED"
    assert int(limited.headers["retry-after"]) >= 1


def _ratelimit(response: httpx.Response) -> tuple[str, str, int]:
    """(quota, remaining, reset) of the one limit in RateLimit-Policy and RateLimit."""
    [(name, policy)] = http_sf.parse(response.headers["ratelimit-policy"].encode(), tltype="list")
    [(same, current)] = http_sf.parse(response.headers["ratelimit"].encode(), tltype="list")
    assert name == same == "default"
    assert policy["w"] == 60
    reset = current["t"]
    assert 0 <= reset <= 60
    return str(policy["q"]), str(current["r"]), reset


async def test_a_rate_limited_secret_gets_ratelimit_headers_on_200_and_429(
    client: httpx.AsyncClient, hive: KeyHive
) -> None:
    owner = hive.create_client("metered")
    token = hive.issue_secret(owner.client_id, scopes=["a:read"], rate="2/minute").token
    first = await client.get("/v1/auth", headers=bearer(token))
    assert first.status_code == 200
    assert _ratelimit(first)[:2] == ("2", "1")
    second = await client.get("/v1/auth", headers=bearer(token))
    assert _ratelimit(second)[:2] == ("2", "0")
    refused = await client.get("/v1/auth", headers=bearer(token))
    assert assert_problem(refused, 429)["code"] == "RATE_LIMITED"
    assert _ratelimit(refused)[:2] == ("2", "0")
    assert int(refused.headers["retry-after"]) >= 1


async def test_no_ratelimit_headers_without_a_rate_limit(
    client: httpx.AsyncClient, hive: KeyHive, reader: tuple[str, str, str]
) -> None:
    ok = await client.get("/v1/auth", headers=bearer(reader[2]))
    assert ok.status_code == 200
    owner = hive.create_client("prepaid")
    token = hive.issue_secret(owner.client_id, credits=0).token
    exhausted = await client.get("/v1/auth", headers=bearer(token))
    assert assert_problem(exhausted, 429)["code"] == "USAGE_EXCEEDED"
    for answer in (ok, exhausted):
        assert not [name for name in answer.headers if name.startswith("ratelimit")]


def test_ratelimit_reset_counts_whole_seconds_from_now_and_never_below_zero() -> None:
    now = time.time()
    ahead = dict(ratelimit_headers([RateLimitStatus(True, 10, 7, now + 12.5, 12.5, window=60)]))
    assert ahead == {
        b"ratelimit-policy": b'"default";q=10;w=60',
        b"ratelimit": b'"default";r=7;t=13',
    }
    past = dict(ratelimit_headers([RateLimitStatus(False, 10, 0, now - 5, -5.0, window=60)]))
    assert past[b"ratelimit"] == b'"default";r=0;t=0'


async def test_credits_run_out_and_can_be_lifted(
    client: httpx.AsyncClient, hive: KeyHive, admin: dict[str, str]
) -> None:
    owner = hive.create_client("prepaid")
    r = await client.post(
        f"/v1/clients/{owner.client_id}/secrets", json={"credits": 1}, headers=admin
    )
    token, secret_id = r.json()["token"], r.json()["secret_id"]
    first = await client.post("/v1/verify", json={"token": token}, headers=admin)
    assert (first.json()["code"], first.json()["remaining"]) == ("VALID", 0)
    second = await client.post("/v1/verify", json={"token": token}, headers=admin)
    assert (second.status_code, second.json()["code"]) == (200, "USAGE_EXCEEDED")
    assert_problem(await client.get("/v1/auth", headers=bearer(token)), 429)
    lifted = await client.patch(f"/v1/secrets/{secret_id}", json={"credits": None}, headers=admin)
    assert lifted.json()["credits"] is None
    assert (await client.get("/v1/auth", headers=bearer(token))).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"credits": -1},
        {"credits": "5"},
        {"credits": True},
        {"refill": "week"},
        {"rate": "lots"},
        {"allowed_ips": ["not-a-net"]},
        {"refill": "day"},
    ],
)
async def test_bad_limits_are_422(
    client: httpx.AsyncClient, hive: KeyHive, admin: dict[str, str], body: dict[str, object]
) -> None:
    owner = hive.create_client("x")
    r = await client.post(f"/v1/clients/{owner.client_id}/secrets", json=body, headers=admin)
    assert_problem(r, 422)
