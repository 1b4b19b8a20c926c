"""Value types, admin-input checks and the exception tree."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest

import keyhive
from keyhive.core import errors, validation
from keyhive.core.model import AuditEvent, Client, Code, Issued, Secret, StoredSecret, Verification
from keyhive.core.tokens import make_token

NOW = datetime(2030, 1, 1, tzinfo=UTC)
TOKEN = make_token()
CLIENT = Client("cid+/=", "reporting", "team-a", {"tier": "gold"}, True, NOW)
SECRET = Secret(
    secret_id=TOKEN.secret_id,
    client_id=CLIENT.client_id,
    name="ci",
    scopes=("articles:read",),
    prefix="kh",
    created_at=NOW,
    expires_at=NOW + timedelta(days=90),
)


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "must be a string"),
        (5, "must be a string"),
        (b"name", "must be a string"),
        (["name"], "must be a string"),
        ("", "must not be empty"),
        ("  \t", "must not be empty"),
        ("x" * 201, "longer than 200"),
        ("line\nbreak", "control characters"),
        ("nul\x00", "control characters"),
        ("\ud800", "not valid Unicode text"),
    ],
)
def test_text_rejects(value: object, message: str) -> None:
    with pytest.raises(errors.InvalidInput, match=message) as caught:
        validation.text(value, "name")
    assert caught.value.field == "name"


def test_text_accepts_and_optional() -> None:
    assert validation.text("caf\u00e9 \U0001f511", "name") == "caf\u00e9 \U0001f511"
    assert validation.text("x" * 200, "name") == "x" * 200
    assert validation.text(None, "owner", optional=True) is None
    assert validation.required_text("a", "name") == "a"
    assert validation.identifier("x" * 128, "client_id") == "x" * 128
    with pytest.raises(errors.InvalidInput, match="longer than 128"):
        validation.identifier("x" * 129, "client_id")


def _nested(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return root


def _circular() -> dict[str, Any]:
    value: dict[str, Any] = {}
    value["self"] = value
    return value


@pytest.mark.parametrize(
    "value",
    [
        [("a", 1)],
        "{}",
        42,
        {"n": math.nan},
        {"inf": math.inf},
        {"o": object()},
        {"s": {1, 2}},
        {(1, 2): "tuple key"},
        {"big": "x" * 16_384},
        {"big": "\u00e9" * 8_200},  # 8,200 characters, 16,400 bytes of UTF-8
        _circular(),
        _nested(32),  # 33 levels
        _nested(100_000),
        {"k": "\ud800"},  # lone surrogates cannot be written as UTF-8
        {"\udfff": 1},
        {"list": ["ok", "\ud800"]},
        {"k": "nul\x00"},  # PostgreSQL's jsonb refuses NUL
        {"nul\x00": 1},
        {"wide": [0] * 20_000},
    ],
    ids=lambda v: type(v).__name__,
)
def test_metadata_rejects(value: object) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        validation.metadata(value)
    assert caught.value.field == "metadata"


def test_metadata_accepts_json_objects() -> None:
    assert validation.metadata(None) == {}
    assert validation.metadata({"a": [1, 2.5, None, True], "b": {"c": "d"}}) == {
        "a": [1, 2.5, None, True],
        "b": {"c": "d"},
    }
    assert validation.metadata(MappingProxyType({"x": 1})) == {"x": 1}
    assert validation.metadata({1: "int keys become text"}) == {"1": "int keys become text"}
    assert validation.metadata(_nested(31))["a"]["a"] == _nested(29)  # 32 levels
    assert validation.metadata({"e": "\u00e9" * 8_000}) == {"e": "\u00e9" * 8_000}


def test_aware() -> None:
    assert validation.aware(NOW, "expires_at") is NOW
    east = datetime(2030, 1, 1, tzinfo=timezone(timedelta(hours=5)))
    assert validation.aware(east, "expires_at") == east
    for bad in (datetime(2030, 1, 1), "2030-01-01T00:00:00Z", 0, None):
        with pytest.raises(errors.InvalidInput, match="timezone-aware"):
            validation.aware(bad, "expires_at")


# -- model ------------------------------------------------------------------------------------


def test_codes_are_their_names() -> None:
    assert {c.value for c in Code} == {
        "VALID",
        "NOT_FOUND",
        "EXPIRED",
        "REVOKED",
        "DISABLED",
        "INSUFFICIENT_SCOPE",
        "RATE_LIMITED",
        "USAGE_EXCEEDED",
        "IP_NOT_ALLOWED",
    }
    assert Code.VALID == "VALID"


@pytest.mark.parametrize("code", list(Code))
def test_only_valid_is_valid(code: Code) -> None:
    result = Verification(code, CLIENT, SECRET)
    assert result.valid is (code is Code.VALID)
    assert result.to_dict()["valid"] is result.valid
    assert result.to_dict()["code"] == code.value


def test_not_found_carries_nothing() -> None:
    result = Verification(Code.NOT_FOUND)
    assert (result.client_id, result.secret_id, result.scopes) == (None, None, ())
    # Subset: later fields (rate-limit details) may be added, these must stay.
    assert (
        result.to_dict().items()
        >= {
            "valid": False,
            "code": "NOT_FOUND",
            "client_id": None,
            "secret_id": None,
            "scopes": [],
            "owner": None,
            "name": None,
            "metadata": {},
            "expires_at": None,
        }.items()
    )


def test_valid_verification_to_dict() -> None:
    result = Verification(Code.VALID, CLIENT, SECRET)
    assert result.client_id == CLIENT.client_id
    assert result.secret_id == SECRET.secret_id
    assert result.scopes == ("articles:read",)
    assert (
        result.to_dict().items()
        >= {
            "valid": True,
            "code": "VALID",
            "client_id": "cid+/=",
            "secret_id": SECRET.secret_id,
            "scopes": ["articles:read"],
            "owner": "team-a",
            "name": "reporting",
            "metadata": {"tier": "gold"},
            "expires_at": "2030-04-01T00:00:00Z",
        }.items()
    )


def test_secret_revocation_and_expiry_boundaries() -> None:
    """A time equal to revoked_at or expires_at already counts: no one-tick window."""
    revoked = dataclasses.replace(SECRET, revoked_at=NOW + timedelta(hours=1))
    assert not revoked.is_revoked(NOW)
    assert revoked.is_revoked(NOW + timedelta(hours=1))
    assert not SECRET.is_revoked(NOW + timedelta(days=10_000))
    assert not SECRET.is_expired(NOW + timedelta(days=90) - timedelta(microseconds=1))
    assert SECRET.is_expired(NOW + timedelta(days=90))
    forever = dataclasses.replace(SECRET, expires_at=None)
    assert not forever.is_expired(NOW + timedelta(days=10_000))


def test_secret_and_client_to_dict() -> None:
    data = SECRET.to_dict()
    assert data["created_at"] == "2030-01-01T00:00:00Z"
    assert data["revoked_at"] is None
    assert data["scopes"] == ["articles:read"]
    assert set(data) >= {"secret_id", "client_id", "prefix", "usage_count", "replaced_by"}
    assert CLIENT.to_dict() == {
        "client_id": "cid+/=",
        "name": "reporting",
        "owner": "team-a",
        "metadata": {"tier": "gold"},
        "enabled": True,
        "created_at": "2030-01-01T00:00:00Z",
    }


def test_plain_secrets_stay_out_of_repr() -> None:
    issued = Issued(TOKEN.text, SECRET)
    stored = StoredSecret(SECRET, "$scrypt$ln=4,r=1,p=1$c2FsdA$aGFzaA")
    assert TOKEN.text not in repr(issued)
    assert "$scrypt$" not in repr(stored)
    assert issued.secret_id == SECRET.secret_id
    assert issued.client_id == CLIENT.client_id
    assert issued.to_dict()["token"] == TOKEN.text
    assert issued.to_dict()["secret_id"] == SECRET.secret_id


def test_values_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CLIENT.enabled = False  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        SECRET.scopes = ("*",)  # type: ignore[misc]


def test_audit_event_to_dict() -> None:
    event = AuditEvent(7, NOW, "admin", "client.create", "client", "cid", None, CLIENT.to_dict())
    data = event.to_dict()
    assert data["at"] == "2030-01-01T00:00:00Z"
    assert data["before"] is None
    assert data["after"]["name"] == "reporting"
    bare = AuditEvent(None, NOW, None, "x", "secret", "s", {"a": 1})
    assert bare.to_dict()["before"] == {"a": 1}
    assert bare.to_dict()["after"] is None


# -- errors -------------------------------------------------------------------------------------


PUBLIC_EXCEPTIONS = [
    value
    for value in (getattr(keyhive, n) for n in keyhive.__all__)
    if isinstance(value, type) and issubclass(value, Exception)
]


def test_public_exceptions_share_one_base() -> None:
    assert len(PUBLIC_EXCEPTIONS) >= 10
    for cls in PUBLIC_EXCEPTIONS:
        assert issubclass(cls, keyhive.KeyhiveError), cls


def test_exception_tree_and_data() -> None:
    assert issubclass(errors.InvalidInput, ValueError)
    assert issubclass(errors.NotFound, LookupError)
    assert issubclass(errors.VerifyMismatch, errors.HashError)
    assert issubclass(errors.UnknownHashFormat, errors.HashError)
    for cls in (errors.MalformedToken, errors.InvalidScope, errors.InvalidDuration):
        assert issubclass(cls, errors.InvalidInput)
    missing = errors.ClientNotFound("cid")
    assert (missing.kind, missing.ident, str(missing)) == ("client", "cid", "client not found: cid")
    gone = errors.SecretNotFound("sid")
    assert (gone.kind, gone.ident) == ("secret", "sid")
    bad = errors.MalformedToken("checksum mismatch")
    assert (bad.reason, bad.field, str(bad)) == (
        "checksum mismatch",
        "token",
        "malformed token: checksum mismatch",
    )
    assert errors.InvalidInput("x").field is None


@pytest.mark.parametrize("suffix", ["/secrets", "/disable", "/enable", "/usage"])
def test_a_client_id_never_ends_with_a_route_suffix(suffix: str) -> None:
    """/v1/clients/{id}/secrets can only mean the secrets of {id}."""
    with pytest.raises(errors.InvalidInput, match="must not end with"):
        validation.identifier("acme" + suffix, "client_id")
    assert validation.identifier("acme" + suffix + "x", "client_id") == "acme" + suffix + "x"
    assert validation.identifier("AAAA" + suffix, "target_id") == "AAAA" + suffix


def test_text_pattern_is_the_check() -> None:
    """The pattern in the OpenAPI document and the library's check agree."""
    import re

    for value in ["a", "café", "a\u00a0b", " x ", "\u200bx", "  ", "a\tb", "a\u202eb", "\x85"]:
        by_pattern = re.fullmatch(validation.TEXT_PATTERN, value) is not None
        try:
            validation.text(value, "name")
        except errors.InvalidInput:
            by_check = False
        else:
            by_check = True
        assert by_pattern == by_check, repr(value)
