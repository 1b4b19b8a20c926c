"""The framework-free mapping from verdicts to HTTP answers (RFC 6750 §3)."""

from __future__ import annotations

import pytest

from keyhive.core.credentials import BadCredential, TokenCredential
from keyhive.core.model import Code
from keyhive.integrations import Principal, Verdict, deny
from keyhive.integrations._rfc6750 import Denial, challenge, read, unavailable

WHO = Principal("client", "secret", ("users:read",))


@pytest.mark.parametrize("code", [Code.NOT_FOUND, Code.EXPIRED, Code.REVOKED, Code.DISABLED])
def test_unusable_credentials_are_401_invalid_token(code: Code) -> None:
    denial = deny(Verdict(code), ["articles:create"])
    assert denial is not None
    assert denial.status == 401
    assert denial.headers == {"WWW-Authenticate": 'Bearer realm="keyhive", error="invalid_token"'}
    assert denial.body["code"] == code.value


@pytest.mark.parametrize("code", [Code.INSUFFICIENT_SCOPE, Code.IP_NOT_ALLOWED])
def test_forbidden_is_403_naming_the_required_scopes(code: Code) -> None:
    denial = deny(Verdict(code, WHO), ["articles:create", "articles:update"], realm="blog")
    assert denial is not None
    assert denial.status == 403
    assert denial.headers["WWW-Authenticate"] == (
        'Bearer realm="blog", error="insufficient_scope", scope="articles:create articles:update"'
    )
    assert denial.body["scope"] == "articles:create articles:update"


@pytest.mark.parametrize(
    ("retry_after", "header"), [(None, "1"), (0.2, "1"), (2.0, "2"), (2.01, "3"), (1e9, "86400")]
)
def test_limits_are_429_with_whole_seconds(retry_after: float | None, header: str) -> None:
    denial = deny(Verdict(Code.RATE_LIMITED, retry_after=retry_after))
    assert denial is not None
    assert (denial.status, denial.headers["Retry-After"]) == (429, header)
    assert denial.body["retry_after"] == int(header)


def test_throttled_failures_stay_401_but_say_when_to_retry() -> None:
    denial = deny(Verdict(Code.NOT_FOUND, retry_after=4.5))
    assert denial is not None
    assert (denial.status, denial.headers["Retry-After"]) == (401, "5")


def test_valid_passes() -> None:
    assert deny(Verdict(Code.VALID, WHO)) is None


def test_missing_credential_has_no_error_code() -> None:
    found = read(None, None)
    assert isinstance(found, Denial)
    assert found.status == 401
    assert found.headers == {"WWW-Authenticate": 'Bearer realm="keyhive"'}
    assert "error=" not in challenge()


def test_unreadable_header_is_invalid_request_and_not_echoed() -> None:
    found = read("Bearer", None)
    assert isinstance(found, Denial)
    assert 'error="invalid_request"' in found.headers["WWW-Authenticate"]
    secretish = read("Digest kh_do-not-echo-me", None)
    assert isinstance(secretish, Denial)
    assert b"do-not-echo-me" not in secretish.content()
    assert isinstance(read(None, " kh_x "), TokenCredential)
    assert isinstance(BadCredential("x"), ValueError)


def test_unavailable_fails_closed() -> None:
    assert unavailable(None).status == 503
    assert unavailable(2.2).headers["Retry-After"] == "3"


def test_principal_matches_wildcard_grants() -> None:
    writer = Principal("c", "s", ("articles:*",))
    assert writer.allows(["articles:create", "articles:update"])
    assert not writer.allows("users:read")
