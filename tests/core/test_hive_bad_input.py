"""Bad input at the facade: verification answers NOT_FOUND, admin calls raise keyhive errors.

Every case here is something a caller can send; none may surface as TypeError,
AttributeError, UnicodeError or OverflowError.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from keyhive import Code, KeyHive, KeyhiveError
from keyhive.core.errors import (
    ClientNotFound,
    InvalidDuration,
    InvalidInput,
    InvalidScope,
    SecretNotFound,
)
from keyhive.core.model import Issued
from keyhive.core.tokens import make_token
from tests.conftest import load_vectors

TEN_MB = "a" * (10 * 1024 * 1024)
SEED = load_vectors("seed_scrypt.json")[0]

BAD_TOKENS: list[Any] = [
    None,
    "",
    " ",
    0,
    42,
    3.14,
    True,
    b"kh_bytes",
    bytearray(b"kh"),
    ["kh_token"],
    ("kh", "x"),
    {"token": "x"},
    object(),
    TEN_MB,
    "kh_" + TEN_MB,
    "\u00e9\u00e8\u00ea",
    "kh_\u00e9" * 10,
    "\ud800",
    "kh_\x00" + "A" * 70,
    "\U0001f511" * 80,
    "Bearer kh_x",
    SEED["secret"],
]


@pytest.fixture
def issued(hive: KeyHive) -> Issued:
    client = hive.create_client("app")
    return hive.issue_secret(client.client_id, scopes=["articles:read"])


def _not_found(result: Any) -> None:
    assert result.code is Code.NOT_FOUND
    assert result.valid is False
    assert result.client is None
    assert result.secret is None


# -- verification: never raises ---------------------------------------------------------------


def test_the_good_token_is_valid(hive: KeyHive, issued: Issued) -> None:
    """The positive control for every NOT_FOUND below."""
    assert hive.verify(issued.token, ["articles:read"]).code is Code.VALID
    assert hive.verify_pair(issued.client_id, issued.token).code is Code.VALID


@pytest.mark.parametrize("token", BAD_TOKENS, ids=lambda t: repr(t)[:20])
def test_verify_bad_token_is_not_found(hive: KeyHive, issued: Issued, token: Any) -> None:
    _not_found(hive.verify(token))
    _not_found(hive.verify(token, ["articles:read"], ip="203.0.113.9"))


def test_verify_altered_real_tokens(hive: KeyHive, issued: Issued) -> None:
    token = issued.token
    wrong_prefix = make_token("zz", secret_id=issued.secret_id).text
    other_random = make_token("kh", secret_id=issued.secret_id).text
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (
        token[:-1],
        token[:20],
        token + "x",
        " " + token,
        token + "\n",
        token.upper(),
        flipped,
        wrong_prefix,
        other_random,
    ):
        _not_found(hive.verify(bad))
    assert hive.verify(token).code is Code.VALID


@pytest.mark.parametrize(
    "scopes",
    [5, b"a:b", ["bad scope"], [None], [1], [["a:b"]], "nope", [TEN_MB], object()],
    ids=repr,
)
def test_verify_bad_scopes_is_not_found(hive: KeyHive, issued: Issued, scopes: Any) -> None:
    _not_found(hive.verify(issued.token, scopes))
    _not_found(hive.verify_pair(issued.client_id, issued.token, scopes))


@pytest.mark.parametrize("ip", [None, "", 5, b"\x00", "::1", "\ud800", TEN_MB[:5000]], ids=repr)
def test_verify_odd_ip_does_not_raise(hive: KeyHive, issued: Issued, ip: Any) -> None:
    assert hive.verify(issued.token, ip=ip).code is Code.VALID
    _not_found(hive.verify(issued.token[:-1], ip=ip))


@pytest.mark.parametrize("client_id", [*BAD_TOKENS, "\x00", "x" * 129], ids=lambda t: repr(t)[:20])
def test_verify_pair_bad_client_id(hive: KeyHive, issued: Issued, client_id: Any) -> None:
    _not_found(hive.verify_pair(client_id, issued.token))
    _not_found(hive.verify_pair(client_id, SEED["secret"]))


@pytest.mark.parametrize("secret", BAD_TOKENS, ids=lambda t: repr(t)[:20])
def test_verify_pair_bad_secret(hive: KeyHive, issued: Issued, secret: Any) -> None:
    _not_found(hive.verify_pair(issued.client_id, secret))
    _not_found(hive.verify_pair("unknown-client", secret))


def test_verify_pair_rejects_another_clients_token(hive: KeyHive, issued: Issued) -> None:
    other = hive.create_client("other")
    _not_found(hive.verify_pair(other.client_id, issued.token))


def test_verify_pair_article_secret(hive: KeyHive) -> None:
    """An imported article secret verifies as a pair; odd secrets beside it do not."""
    client = hive.create_client("legacy", client_id=SEED["client_id"])
    hive.import_secret(client.client_id, SEED["stored"], scopes=["articles:*"])
    for bad in ("\ud800", SEED["secret"][:-1], SEED["secret"] + "x", "x" * 1025, "\x00"):
        _not_found(hive.verify_pair(client.client_id, bad))
    result = hive.verify_pair(client.client_id, SEED["secret"], ["articles:read"])
    assert result.code is Code.VALID


def test_sqlite_verify_pair_with_a_lone_surrogate_client_id(sqlite_hive: KeyHive) -> None:
    """The SQLite driver cannot bind a lone surrogate; the facade must still answer."""
    _not_found(sqlite_hive.verify_pair("\ud800", "secret"))


# -- admin calls: keyhive errors only ---------------------------------------------------------


def _raises(expected: type[KeyhiveError], call: Callable[[], object]) -> KeyhiveError:
    with pytest.raises(KeyhiveError) as caught:
        call()
    assert isinstance(caught.value, expected), repr(caught.value)
    assert TEN_MB not in str(caught.value)
    return caught.value


@pytest.mark.parametrize(
    "name", [None, "", "   ", TEN_MB, 123, b"name", ["n"], "a\nb", "\ud800"], ids=repr
)
def test_create_client_bad_name(hive: KeyHive, name: Any) -> None:
    error = _raises(InvalidInput, lambda: hive.create_client(name))
    assert isinstance(error, InvalidInput)
    assert error.field == "name"
    assert hive.list_clients() == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"owner": 5},
        {"owner": ""},
        {"owner": TEN_MB},
        {"metadata": [1, 2]},
        {"metadata": {"n": float("nan")}},
        {"metadata": {"x": TEN_MB}},
        {"client_id": 5},
        {"client_id": ""},
        {"client_id": TEN_MB},
        {"key_size": 8},
        {"key_size": "32"},
        {"key_size": None},
        {"key_format": "base32"},
        {"key_format": None},
        {"actor": 5},
    ],
    ids=lambda k: next(iter(k)) + "=" + repr(next(iter(k.values())))[:12],
)
def test_create_client_bad_options(hive: KeyHive, kwargs: dict[str, Any]) -> None:
    _raises(InvalidInput, lambda: hive.create_client("ok", **kwargs))
    assert hive.list_clients() == []


@pytest.mark.parametrize("client_id", [None, "", 5, b"x", TEN_MB, ["x"]], ids=repr)
def test_admin_calls_with_bad_client_id(hive: KeyHive, client_id: Any) -> None:
    _raises(InvalidInput, lambda: hive.issue_secret(client_id))
    _raises(InvalidInput, lambda: hive.get_client(client_id))
    _raises(InvalidInput, lambda: hive.list_secrets(client_id))
    _raises(InvalidInput, lambda: hive.disable_client(client_id))


def test_unknown_ids_are_not_found_errors(hive: KeyHive) -> None:
    _raises(ClientNotFound, lambda: hive.issue_secret("no-such-client"))
    _raises(ClientNotFound, lambda: hive.get_client("no-such-client"))
    _raises(SecretNotFound, lambda: hive.revoke("no-such-secret"))
    _raises(SecretNotFound, lambda: hive.rotate(make_token().secret_id))


@pytest.mark.parametrize(
    "scopes",
    [
        5,
        b"a:b",
        "no-colon",
        ["bad scope"],
        [None],
        [1],
        [["a:b"]],
        {"a:b": True},
        [TEN_MB],
        [f"r:a{i}" for i in range(65)],
    ],
    ids=lambda s: repr(s)[:16],
)
def test_issue_secret_bad_scopes(hive: KeyHive, scopes: Any) -> None:
    client = hive.create_client("app")
    _raises(InvalidScope, lambda: hive.issue_secret(client.client_id, scopes=scopes))
    assert hive.list_secrets(client.client_id) == []


@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [
        ("soon", InvalidDuration),
        ("", InvalidDuration),
        ("-5m", InvalidDuration),
        ("\u00b2", InvalidDuration),
        ("999999999w", InvalidDuration),
        ("9" * 60, InvalidDuration),
        (TEN_MB, InvalidDuration),
        (3600, InvalidDuration),
        (b"90d", InvalidDuration),
        (timedelta(days=10**6), InvalidDuration),
        (timedelta(days=-1), InvalidInput),
        (timedelta(0), InvalidInput),
        ("0", InvalidInput),
        ("0s", InvalidInput),
    ],
    ids=lambda v: repr(v)[:16],
)
def test_issue_secret_bad_expires_in(
    hive: KeyHive, expires_in: Any, expected: type[KeyhiveError]
) -> None:
    client = hive.create_client("app")
    _raises(expected, lambda: hive.issue_secret(client.client_id, expires_in=expires_in))
    assert hive.list_secrets(client.client_id) == []


def test_issue_secret_far_but_allowed_expiry(hive: KeyHive) -> None:
    client = hive.create_client("app")
    issued = hive.issue_secret(client.client_id, expires_in="36500d")
    assert issued.secret.expires_at == hive.clock.now() + timedelta(days=36500)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"expires_at": datetime(2031, 1, 1)},
        {"expires_at": "2031-01-01"},
        {"expires_at": 0},
        {"expires_in": "1d", "expires_at": datetime(2031, 1, 1).astimezone()},
        {"name": TEN_MB},
        {"name": 5},
        {"prefix": "KH"},
        {"prefix": ""},
        {"prefix": 5},
        {"prefix": "x" * 17},
        {"actor": TEN_MB},
    ],
    ids=lambda k: "+".join(k),
)
def test_issue_secret_bad_options(hive: KeyHive, kwargs: dict[str, Any]) -> None:
    client = hive.create_client("app")
    _raises(InvalidInput, lambda: hive.issue_secret(client.client_id, **kwargs))
    assert hive.list_secrets(client.client_id) == []


@pytest.mark.parametrize(
    "grace", ["later", timedelta(days=10**6), timedelta(seconds=-1), 60, None], ids=repr
)
def test_rotate_bad_grace(hive: KeyHive, issued: Issued, grace: Any) -> None:
    _raises(InvalidDuration, lambda: hive.rotate(issued.secret_id, grace=grace))
    assert hive.get_secret(issued.secret_id).replaced_by is None
    assert hive.verify(issued.token).code is Code.VALID


@pytest.mark.parametrize("secret_id", [None, "", 5, TEN_MB, "\x00" * 16], ids=repr)
def test_secret_admin_calls_with_bad_id(hive: KeyHive, secret_id: Any) -> None:
    _raises(InvalidInput, lambda: hive.revoke(secret_id))
    _raises(InvalidInput, lambda: hive.rotate(secret_id))
    _raises(InvalidInput, lambda: hive.update(secret_id, name="x"))
    _raises(InvalidInput, lambda: hive.get_secret(secret_id))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scopes": "bad"},
        {"scopes": 5},
        {"name": TEN_MB},
        {"expires_in": "never"},
        {"expires_in": timedelta(days=10**6)},
        {"expires_at": datetime(2031, 1, 1)},
    ],
    ids=lambda k: next(iter(k)),
)
def test_update_bad_options(hive: KeyHive, issued: Issued, kwargs: dict[str, Any]) -> None:
    _raises(InvalidInput, lambda: hive.update(issued.secret_id, **kwargs))
    assert hive.get_secret(issued.secret_id) == issued.secret


def test_revoke_bad_reason(hive: KeyHive, issued: Issued) -> None:
    _raises(InvalidInput, lambda: hive.revoke(issued.secret_id, reason=TEN_MB))
    _raises(InvalidInput, lambda: hive.revoke(issued.secret_id, reason=5))
    assert hive.verify(issued.token).code is Code.VALID


@pytest.mark.parametrize("limit", [0, -1, 1001, "10", None, 2.5], ids=repr)
def test_listing_limits(hive: KeyHive, limit: Any) -> None:
    _raises(InvalidInput, lambda: hive.list_clients(limit=limit))
    _raises(InvalidInput, lambda: hive.audit(limit=limit))


@pytest.mark.parametrize("after_id", [-1, "0", None, 1.5], ids=repr)
def test_audit_bad_after_id(hive: KeyHive, after_id: Any) -> None:
    _raises(InvalidInput, lambda: hive.audit(after_id=after_id))


def test_update_client_bad_input(hive: KeyHive) -> None:
    client = hive.create_client("app")
    _raises(InvalidInput, lambda: hive.update_client(client.client_id, name=""))
    _raises(InvalidInput, lambda: hive.update_client(client.client_id, owner=5))
    _raises(InvalidInput, lambda: hive.update_client(client.client_id, metadata=[1]))
    assert hive.get_client(client.client_id) == client


def test_import_secret_bad_stored(hive: KeyHive) -> None:
    client = hive.create_client("legacy")
    for stored in (None, "", "plain", SEED["stored"].upper(), 5, TEN_MB):
        _raises(InvalidInput, lambda s=stored: hive.import_secret(client.client_id, s))
    assert hive.list_secrets(client.client_id) == []


def test_list_clients_bad_cursor(hive: KeyHive) -> None:
    hive.create_client("app")
    _raises(InvalidInput, lambda: hive.list_clients(after=5))  # type: ignore[arg-type]
