"""POST /oauth/token refuses every bad request with the RFC 6749 §5.2 answer, never a 500."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyhive import FrozenClock, KeyHive

from .conftest import FORM, Holder, basic

pytestmark = pytest.mark.anyio
GRANT = {"grant_type": "client_credentials"}


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["error"] == error
    assert isinstance(body["error_description"], str)
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic ")


async def test_a_token_with_basic_and_with_post(client: httpx.AsyncClient, holder: Holder) -> None:
    by_basic = await client.post(
        "/oauth/token", data=GRANT, headers=basic(holder.client_id, holder.secret)
    )
    by_post = await client.post(
        "/oauth/token",
        data={**GRANT, "client_id": holder.client_id, "client_secret": holder.secret},
    )
    for response in (by_basic, by_post):
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 900
        assert body["scope"] == "articles:read articles:write"
        assert body["access_token"].count(".") == 2


async def test_wrong_secret_and_unknown_client(client: httpx.AsyncClient, holder: Holder) -> None:
    wrong = holder.secret[:-8] + "AAAAAAAA"
    for client_id, secret in ((holder.client_id, wrong), ("nobody", holder.secret)):
        response = await client.post("/oauth/token", data=GRANT, headers=basic(client_id, secret))
        assert_oauth_error(response, 401, "invalid_client")
        posted = await client.post(
            "/oauth/token", data={**GRANT, "client_id": client_id, "client_secret": secret}
        )
        assert_oauth_error(posted, 401, "invalid_client")


async def test_a_token_of_another_client_does_not_authenticate(
    client: httpx.AsyncClient, hive: KeyHive, holder: Holder
) -> None:
    other = hive.create_client("other")
    response = await client.post(
        "/oauth/token", data=GRANT, headers=basic(other.client_id, holder.secret)
    )
    assert_oauth_error(response, 401, "invalid_client")


async def test_disabled_client_revoked_and_expired_secrets(
    client: httpx.AsyncClient, hive: KeyHive, holder: Holder, clock: FrozenClock
) -> None:
    expiring = hive.issue_secret(holder.client_id, scopes=["a:read"], expires_in="1h")
    revoked = hive.issue_secret(holder.client_id, scopes=["a:read"])
    hive.revoke(revoked.secret_id)
    clock.advance(timedelta(hours=2))
    for token in (expiring.token, revoked.token):
        response = await client.post(
            "/oauth/token", data=GRANT, headers=basic(holder.client_id, token)
        )
        assert_oauth_error(response, 401, "invalid_client")
    hive.disable_client(holder.client_id)
    response = await client.post(
        "/oauth/token", data=GRANT, headers=basic(holder.client_id, holder.secret)
    )
    assert_oauth_error(response, 401, "invalid_client")


async def test_scope_must_be_granted(client: httpx.AsyncClient, holder: Holder) -> None:
    auth = basic(holder.client_id, holder.secret)
    narrower = await client.post(
        "/oauth/token", data={**GRANT, "scope": "articles:read"}, headers=auth
    )
    assert narrower.json()["scope"] == "articles:read"
    for scope in (
        "articles:delete",
        "articles:read users:read",
        "*",
        "keyhive:admin",
        "not a scope",
    ):
        response = await client.post("/oauth/token", data={**GRANT, "scope": scope}, headers=auth)
        assert_oauth_error(response, 400, "invalid_scope")


async def test_keyhive_scopes_stay_out_of_tokens(
    client: httpx.AsyncClient, hive: KeyHive, holder: Holder
) -> None:
    admin = hive.issue_secret(holder.client_id, scopes=["keyhive:admin", "articles:*"])
    response = await client.post(
        "/oauth/token", data=GRANT, headers=basic(holder.client_id, admin.token)
    )
    assert response.json()["scope"] == "articles:*"


async def test_grant_type_and_missing_parameters(client: httpx.AsyncClient, holder: Holder) -> None:
    auth = basic(holder.client_id, holder.secret)
    for grant in ("password", "authorization_code", "refresh_token"):
        response = await client.post("/oauth/token", data={"grant_type": grant}, headers=auth)
        assert_oauth_error(response, 400, "unsupported_grant_type")
    missing = await client.post("/oauth/token", data={"scope": "articles:read"}, headers=auth)
    assert_oauth_error(missing, 400, "invalid_request")
    empty = await client.post("/oauth/token", data={"grant_type": ""}, headers=auth)
    assert_oauth_error(empty, 400, "invalid_request")
    no_auth = await client.post("/oauth/token", data=GRANT)
    assert_oauth_error(no_auth, 401, "invalid_client")
    only_id = await client.post("/oauth/token", data={**GRANT, "client_id": holder.client_id})
    assert_oauth_error(only_id, 401, "invalid_client")


async def test_repeated_parameters_and_two_methods(
    client: httpx.AsyncClient, holder: Holder
) -> None:
    auth = basic(holder.client_id, holder.secret)
    twice = await client.post(
        "/oauth/token",
        content=b"grant_type=client_credentials&grant_type=client_credentials",
        headers={**auth, **FORM},
    )
    assert_oauth_error(twice, 400, "invalid_request")
    both = await client.post(
        "/oauth/token",
        data={**GRANT, "client_id": holder.client_id, "client_secret": holder.secret},
        headers=auth,
    )
    assert_oauth_error(both, 400, "invalid_request")
    bearer = await client.post(
        "/oauth/token", data=GRANT, headers={"Authorization": f"Bearer {holder.secret}"}
    )
    assert_oauth_error(bearer, 401, "invalid_client")
    garbled = await client.post("/oauth/token", data=GRANT, headers={"Authorization": "Basic !!"})
    assert_oauth_error(garbled, 401, "invalid_client")


async def test_body_must_be_a_small_form(client: httpx.AsyncClient, holder: Holder) -> None:
    auth = basic(holder.client_id, holder.secret)
    as_json = await client.post("/oauth/token", json=GRANT, headers=auth)
    assert_oauth_error(as_json, 400, "invalid_request")
    no_type = await client.post(
        "/oauth/token", content=b"grant_type=client_credentials", headers=auth
    )
    assert_oauth_error(no_type, 400, "invalid_request")
    latin1 = await client.post(
        "/oauth/token",
        content=b"grant_type=client_credentials",
        headers={**auth, "Content-Type": "application/x-www-form-urlencoded; charset=latin-1"},
    )
    assert_oauth_error(latin1, 400, "invalid_request")
    not_utf8 = await client.post(
        "/oauth/token", content=b"grant_type=\xff\xfe&scope=%ff", headers={**auth, **FORM}
    )
    assert_oauth_error(not_utf8, 400, "invalid_request")
    many = "&".join(f"f{i}=x" for i in range(100)).encode()
    too_many = await client.post("/oauth/token", content=many, headers={**auth, **FORM})
    assert_oauth_error(too_many, 400, "invalid_request")
    big = await client.post(
        "/oauth/token",
        content=b"grant_type=client_credentials&x=" + b"a" * 20_000,
        headers={**auth, **FORM},
    )
    assert_oauth_error(big, 413, "invalid_request")
    # Past the service-wide cap (64 KiB) the body-limit middleware answers first: 413 too.
    huge = await client.post("/oauth/token", content=b"a" * 200_000, headers={**auth, **FORM})
    assert huge.status_code == 413


async def test_resource_names_the_audience(client: httpx.AsyncClient, holder: Holder) -> None:
    auth = basic(holder.client_id, holder.secret)
    ok = await client.post(
        "/oauth/token", data={**GRANT, "resource": "https://other.example/v2"}, headers=auth
    )
    assert ok.status_code == 200
    for bad in ("not a uri", "/relative", "https://x.example/#frag", "urn:"):
        response = await client.post("/oauth/token", data={**GRANT, "resource": bad}, headers=auth)
        assert_oauth_error(response, 400, "invalid_target")
    two = await client.post(
        "/oauth/token",
        content=b"grant_type=client_credentials&resource=https%3A%2F%2Fa.example"
        b"&resource=https%3A%2F%2Fb.example",
        headers={**auth, **FORM},
    )
    assert_oauth_error(two, 400, "invalid_target")


async def test_rate_limit_and_credits_apply_to_getting_tokens(
    client: httpx.AsyncClient, hive: KeyHive, holder: Holder
) -> None:
    limited = hive.issue_secret(holder.client_id, scopes=["a:read"], rate="2/minute")
    auth = basic(holder.client_id, limited.token)
    assert [
        (await client.post("/oauth/token", data=GRANT, headers=auth)).status_code for _ in range(2)
    ] == [200, 200]
    third = await client.post("/oauth/token", data=GRANT, headers=auth)
    assert_oauth_error(third, 429, "temporarily_unavailable")
    assert int(third.headers["retry-after"]) >= 1
    budget = hive.issue_secret(holder.client_id, scopes=["a:read"], credits=1)
    auth = basic(holder.client_id, budget.token)
    assert (await client.post("/oauth/token", data=GRANT, headers=auth)).status_code == 200
    spent = await client.post("/oauth/token", data=GRANT, headers=auth)
    assert_oauth_error(spent, 429, "temporarily_unavailable")


async def test_ip_allowlist_applies(
    client: httpx.AsyncClient, hive: KeyHive, holder: Holder
) -> None:
    fenced = hive.issue_secret(holder.client_id, scopes=["a:read"], allowed_ips=["10.0.0.0/8"])
    response = await client.post(
        "/oauth/token", data=GRANT, headers=basic(holder.client_id, fenced.token)
    )
    assert_oauth_error(response, 400, "unauthorized_client")


async def test_article_secrets_get_tokens(
    client: httpx.AsyncClient, hive: KeyHive, holder: Holder
) -> None:
    from tests.conftest import load_vectors

    record = load_vectors("seed_scrypt.json")[0]
    hive.import_secret(holder.client_id, record["stored"], scopes=["articles:read"])
    response = await client.post(
        "/oauth/token",
        data={**GRANT, "client_id": holder.client_id, "client_secret": record["secret"]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "articles:read"


@given(
    body=st.one_of(
        st.binary(max_size=600),
        st.lists(
            st.tuples(
                st.sampled_from(
                    ["grant_type", "scope", "resource", "client_id", "client_secret", "x", ""]
                ),
                st.one_of(
                    st.sampled_from(["client_credentials", "articles:read", "https://a.b", ""]),
                    st.text(max_size=40),
                ),
            ),
            max_size=8,
        ).map(
            lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")
        ),
    ),
    with_basic=st.booleans(),
)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_random_form_bodies_never_break_it(
    sync_client: httpx.Client, holder: Holder, body: bytes, with_basic: bool
) -> None:
    headers = {**FORM, **(basic(holder.client_id, holder.secret) if with_basic else {})}
    response = sync_client.post("/oauth/token", content=body, headers=headers)
    assert response.status_code in (200, 400, 401, 413), response.text
    body_json = response.json()
    assert "access_token" in body_json or body_json["error"] in {
        "invalid_request",
        "invalid_client",
        "invalid_scope",
        "invalid_target",
        "unsupported_grant_type",
    }
