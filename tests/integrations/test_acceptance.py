"""The same acceptance story on every framework: 401, 403, 200, revoked, 429, 503.

Everything runs against a real KeyHive, 429 included (a secret with a real rate limit
and one with real credits); stub verifiers add the cases a real one cannot be made to
produce on demand (a remote verifier that is down).
"""

from __future__ import annotations

import pytest

from keyhive import KeyHive, StorageUnavailable
from keyhive.core.model import Code
from keyhive.core.tokens import make_token
from keyhive.integrations import Verdict

from .apps import FRAMEWORKS, UNAVAILABLE, Framework, basic, bearer
from .conftest import Blog

pytest.importorskip("flask")
pytest.importorskip("django")
pytest.importorskip("rest_framework")


@pytest.fixture(params=FRAMEWORKS, ids=lambda f: f.name)
def framework(request: pytest.FixtureRequest) -> Framework:
    return request.param  # type: ignore[no-any-return]


def test_no_credential_is_401_without_an_error_code(framework: Framework, hive: KeyHive) -> None:
    with framework.serve(hive) as call:
        reply = call("POST", "/articles", {})
    assert reply.status == 401
    assert reply.headers["www-authenticate"] == 'Bearer realm="keyhive"'
    assert framework.error(reply)["error"] == "unauthorized"


def test_wrong_secret_is_401_invalid_token(framework: Framework, hive: KeyHive, blog: Blog) -> None:
    forged = make_token(secret_id=blog.writer_id).text  # right id, wrong random part
    with framework.serve(hive) as call:
        reply = call("POST", "/articles", bearer(forged))
    assert reply.status == 401
    assert reply.headers["www-authenticate"] == 'Bearer realm="keyhive", error="invalid_token"'
    assert framework.error(reply) | {"error_description": ""} == {
        "error": "invalid_token",
        "error_description": "",
        "code": "NOT_FOUND",
    }


def test_malformed_header_is_401_invalid_request(framework: Framework, hive: KeyHive) -> None:
    with framework.serve(hive) as call:
        reply = call("POST", "/articles", {"Authorization": "Basic not-base64!"})
    assert reply.status == 401
    assert 'error="invalid_request"' in reply.headers["www-authenticate"]
    assert framework.error(reply)["error"] == "invalid_request"


def test_secret_without_the_scope_is_403(framework: Framework, hive: KeyHive, blog: Blog) -> None:
    with framework.serve(hive) as call:
        reply = call("POST", "/articles", bearer(blog.reader))
    assert reply.status == 403
    assert reply.headers["www-authenticate"] == (
        'Bearer realm="keyhive", error="insufficient_scope", scope="articles:create"'
    )
    error = framework.error(reply)
    assert (error["error"], error["scope"]) == ("insufficient_scope", "articles:create")


def test_secret_with_the_scope_reaches_the_handler(
    framework: Framework, hive: KeyHive, blog: Blog
) -> None:
    with framework.serve(hive) as call:
        created = call("POST", "/articles", bearer(blog.writer))
        listed = call("GET", "/users", bearer(blog.reader))
    assert created.status == 200, created.body
    assert created.body == {
        "client_id": blog.client.client_id,
        "secret_id": blog.writer_id,
        "scopes": ["articles:create", "articles:update"],
        "owner": "alice",
        "metadata": {"plan": "pro"},
    }
    assert listed.status == 200
    assert listed.body["scopes"] == ["users:read"]


#: Where a passing answer carries the caller's RateLimit fields (docs/integrations.md): an
#: authentication backend (Starlette's, DRF's) never sees the response it would go on.
FIELDS_ON_PASS = [f for f in FRAMEWORKS if f.name not in {"starlette-backend", "drf"}]


@pytest.mark.parametrize("framework", FIELDS_ON_PASS, ids=lambda f: f.name)
def test_a_limited_secret_passes_with_its_ratelimit_fields(
    framework: Framework, hive: KeyHive, blog: Blog
) -> None:
    """The answer of a route that returns data carries the caller's RateLimit fields, with
    the remaining count of each request; a secret without limits gets none."""
    limited = hive.issue_secret(blog.client.client_id, scopes=["articles:create"], rate="5/minute")
    with framework.serve(hive) as call:
        replies = [call("POST", "/articles", bearer(limited.token)) for _ in range(2)]
        plain = call("POST", "/articles", bearer(blog.writer))
    assert [r.status for r in replies] == [200, 200]
    policies = {r.headers.get("ratelimit-policy") for r in replies}
    assert len(policies) == 1 and ";q=5;w=60" in str(policies.pop())
    fields = [r.headers.get("ratelimit") for r in replies]
    assert fields[0] is not None and ";r=4;" in fields[0]
    assert fields[1] is not None and ";r=3;" in fields[1]
    assert plain.status == 200
    assert "ratelimit" not in plain.headers and "ratelimit-policy" not in plain.headers


@pytest.mark.parametrize("how", ["x-api-key", "basic"])
def test_other_credential_headers(
    framework: Framework, hive: KeyHive, blog: Blog, how: str
) -> None:
    headers = (
        {"X-API-Key": blog.writer}
        if how == "x-api-key"
        else basic(blog.client.client_id, blog.writer)
    )
    with framework.serve(hive) as call:
        reply = call("POST", "/articles", headers)
    assert reply.status == 200
    assert reply.body["client_id"] == blog.client.client_id


def test_revoked_secret_is_401_on_the_next_call(
    framework: Framework, hive: KeyHive, blog: Blog
) -> None:
    with framework.serve(hive) as call:
        assert call("POST", "/articles", bearer(blog.writer)).status == 200
        hive.revoke(blog.writer_id, reason="leaked")
        reply = call("POST", "/articles", bearer(blog.writer))
    assert reply.status == 401
    assert 'error="invalid_token"' in reply.headers["www-authenticate"]
    assert framework.error(reply)["code"] == "REVOKED"


@pytest.mark.parametrize(
    ("limits", "code"),
    [({"rate": "2/minute"}, Code.RATE_LIMITED), ({"credits": 2}, Code.USAGE_EXCEEDED)],
)
def test_a_real_limit_is_429_with_retry_after(
    framework: Framework, hive: KeyHive, blog: Blog, limits: dict[str, object], code: Code
) -> None:
    limited = hive.issue_secret(
        blog.client.client_id,
        scopes=["articles:create"],
        **limits,  # type: ignore[arg-type]
    )
    with framework.serve(hive) as call:
        passed = [call("POST", "/articles", bearer(limited.token)).status for _ in range(2)]
        reply = call("POST", "/articles", bearer(limited.token))
    assert passed == [200, 200]
    assert reply.status == 429
    assert framework.error(reply)["code"] == code.value
    if code is Code.RATE_LIMITED:
        assert 1 <= int(reply.headers["retry-after"]) <= 60
    else:  # credits without a refill: there is nothing to wait for, yet a value is given
        assert int(reply.headers["retry-after"]) >= 1


@pytest.mark.parametrize("code", [Code.RATE_LIMITED, Code.USAGE_EXCEEDED])
def test_limited_is_429_with_retry_after(framework: Framework, code: Code) -> None:
    stub = framework.stub(Verdict(code, retry_after=2.5))
    with framework.serve(stub) as call:
        reply = call("POST", "/articles", bearer("kh_anything"))
    assert reply.status == 429
    assert reply.headers["retry-after"] == "3"
    assert framework.error(reply)["code"] == code.value


@pytest.mark.parametrize(
    ("error", "wait"), [(UNAVAILABLE, "7"), (StorageUnavailable("database is down"), "1")]
)
def test_verifier_down_is_503_never_a_pass(
    framework: Framework, error: Exception, wait: str
) -> None:
    stub = framework.stub(error)
    with framework.serve(stub) as call:
        reply = call("POST", "/articles", bearer("kh_anything"))
    assert reply.status == 503
    assert reply.headers["retry-after"] == wait
    assert framework.error(reply)["error"] == "temporarily_unavailable"


def test_valid_verdict_without_a_principal_fails_closed(framework: Framework) -> None:
    stub = framework.stub(Verdict(Code.VALID))
    with framework.serve(stub) as call:
        reply = call("GET", "/users", bearer("kh_anything"))
    assert reply.status == 401
