"""``keyhive verify``: exit 0 when valid, 1 when not, 2 when used wrongly."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Run, code_of, issue, out_json


@pytest.fixture
def issued(run: Run, client_id: str) -> dict[str, Any]:
    return issue(run, client_id, "--scope", "articles:read")


def test_valid_token(run: Run, issued: dict[str, Any]) -> None:
    result = run("verify", issued["token"], "--scope", "articles:read")
    assert result.exit_code == 0
    assert result.stdout.startswith("VALID: ")
    assert issued["secret_id"] in result.stdout
    assert issued["token"] not in result.output


def test_json_is_the_verification(run: Run, issued: dict[str, Any]) -> None:
    result = run("verify", issued["token"], "--json")
    data = out_json(result)
    assert data["valid"] is True
    assert data["code"] == "VALID"
    assert data["client_id"] == issued["client_id"]
    assert data["secret_id"] == issued["secret_id"]
    assert data["scopes"] == ["articles:read"]


def test_insufficient_scope_exits_1(run: Run, issued: dict[str, Any]) -> None:
    result = run("verify", issued["token"], "--scope", "articles:write", "--json")
    assert result.exit_code == 1
    assert code_of(result) == "INSUFFICIENT_SCOPE"


@pytest.mark.parametrize("token", ["garbage", "kh_AAAAAAAAAAAAAAAA_" + "a" * 49])
def test_unknown_or_malformed_token_is_not_found(run: Run, admin: object, token: str) -> None:
    result = run("verify", token)
    assert result.exit_code == 1
    assert result.stdout == "NOT_FOUND\n"


def test_token_from_stdin(run: Run, issued: dict[str, Any]) -> None:
    result = run("verify", "-", "--json", input=issued["token"] + "\n")
    assert result.exit_code == 0
    assert code_of(result) == "VALID"


def test_empty_stdin_is_a_usage_error(run: Run, admin: object) -> None:
    result = run("verify", "-", input="")
    assert result.exit_code == 2
    assert "stdin" in result.stderr


def test_pair_with_a_token_as_secret(run: Run, issued: dict[str, Any]) -> None:
    ok = run("verify", "--client-id", issued["client_id"], "--secret", issued["token"])
    assert ok.exit_code == 0
    other = run("verify", "--client-id", "someone-else", "--secret", issued["token"])
    assert other.exit_code == 1


def test_pair_secret_from_stdin(run: Run, issued: dict[str, Any]) -> None:
    args = ("verify", "--client-id", issued["client_id"], "--secret", "-", "--json")
    assert code_of(run(*args, input=issued["token"])) == "VALID"


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("--client-id", "abc"),
        ("--secret", "abc"),
        ("sometoken", "--client-id", "abc", "--secret", "x"),
        ("sometoken", "--scope", "not a scope"),
    ],
    ids=["nothing", "id-only", "secret-only", "both", "bad-scope"],
)
def test_usage_errors_exit_2(run: Run, admin: object, args: tuple[str, ...]) -> None:
    result = run("verify", *args)
    assert result.exit_code == 2
    assert "Error:" in result.stderr
