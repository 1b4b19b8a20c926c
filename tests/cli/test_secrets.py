"""``keyhive secret ...``: issue, list, revoke, rotate, update."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from .conftest import Run, code_of, issue, out_json


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_issue_prints_the_token_alone_on_stdout(run: Run, client_id: str) -> None:
    result = run("secret", "issue", client_id, "--scope", "articles:read", "--name", "ci")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert "\n" not in token
    assert token.startswith("kh_")
    assert "shown this once" in result.stderr
    assert "articles:read" in result.stderr
    assert code_of(run("verify", token, "--scope", "articles:read", "--json")) == "VALID"


def test_issue_json(run: Run, client_id: str) -> None:
    data = issue(run, client_id, "--scope", "a:read", "--scope", "b:*", "--expires-in", "90d")
    assert data["client_id"] == client_id
    assert data["scopes"] == ["a:read", "b:*"]
    assert data["token"].split("_")[1] == data["secret_id"]
    expires = _at(data["expires_at"]) - _at(data["created_at"])
    assert expires == timedelta(days=90)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--expires-in", "soon"), "--expires-in"),
        (("--scope", "nocolon"), "--scope"),
        (("--rate", "fast"), "--rate"),
        (("--rate", "0/minute"), "--rate"),
        (("--credits", "-1"), "--credits"),
        (("--credits", "many"), "--credits"),
        (("--credits", "5", "--refill", "week"), "--refill"),
        (("--refill", "day"), "--refill needs --credits"),
        (("--allow-ip", "10.0.0.0/33"), "--allow-ip"),
        (("--allow-ip", "localhost"), "--allow-ip"),
    ],
)
def test_issue_rejects_bad_options(
    run: Run, client_id: str, args: tuple[str, ...], message: str
) -> None:
    result = run("secret", "issue", client_id, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert out_json(run("secret", "list", client_id, "--json")) == []


def test_issue_for_unknown_client(run: Run, admin: dict[str, Any]) -> None:
    result = run("secret", "issue", "nope", "--scope", "a:b")
    assert result.exit_code == 1
    assert result.stderr == "Error: client not found: nope\n"
    assert result.stdout == ""


def test_list(run: Run, client_id: str) -> None:
    first = issue(run, client_id, "--name", "one")
    second = issue(run, client_id, "--name", "two")
    listed = out_json(run("secret", "list", client_id, "--json"))
    assert {s["secret_id"] for s in listed} == {first["secret_id"], second["secret_id"]}
    assert all("token" not in s and "hash" not in s for s in listed)
    human = run("secret", "list", client_id)
    assert human.exit_code == 0
    assert first["secret_id"] in human.stdout
    assert "active" in human.stdout
    assert first["token"] not in human.output
    assert run("secret", "list", "nope").exit_code == 1


def test_revoke(run: Run, client_id: str) -> None:
    issued = issue(run, client_id)
    data = out_json(run("secret", "revoke", issued["secret_id"], "--reason", "leaked", "--json"))
    assert data["revoked_reason"] == "leaked"
    assert data["revoked_at"] is not None
    assert code_of(run("verify", issued["token"], "--json")) == "REVOKED"
    human = run("secret", "revoke", issued["secret_id"])
    assert human.exit_code == 0
    assert "revoked" in human.stdout


def test_revoke_unknown_secret(run: Run, admin: dict[str, Any]) -> None:
    result = run("secret", "revoke", "AAAAAAAAAAAAAAAA")
    assert result.exit_code == 1
    assert result.stderr == "Error: secret not found: AAAAAAAAAAAAAAAA\n"


def test_rotate_without_grace_revokes_the_old_secret(run: Run, client_id: str) -> None:
    old = issue(run, client_id, "--scope", "a:read", "--name", "ci")
    new = out_json(run("secret", "rotate", old["secret_id"], "--json"))
    assert new["token"] != old["token"]
    assert new["scopes"] == ["a:read"]
    assert new["name"] == "ci"
    assert new["rotated_from"] == old["secret_id"]
    assert new["old_secret"]["replaced_by"] == new["secret_id"]
    assert code_of(run("verify", new["token"], "--json")) == "VALID"
    assert code_of(run("verify", old["token"], "--json")) == "REVOKED"


def test_rotate_with_grace_keeps_the_old_secret_valid(run: Run, client_id: str) -> None:
    old = issue(run, client_id)
    result = run("secret", "rotate", old["secret_id"], "--grace", "24h")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("kh_")
    assert "grace until" in result.stderr
    assert code_of(run("verify", token, "--json")) == "VALID"
    assert code_of(run("verify", old["token"], "--json")) == "VALID"
    revoked_at = _at(out_json(run("secret", "list", client_id, "--json"))[0]["revoked_at"])
    assert revoked_at - datetime.now(UTC) > timedelta(hours=23)


def test_rotate_twice_is_a_conflict(run: Run, client_id: str) -> None:
    old = issue(run, client_id)
    assert run("secret", "rotate", old["secret_id"], "--grace", "1h").exit_code == 0
    again = run("secret", "rotate", old["secret_id"])
    assert again.exit_code == 1
    assert again.stderr.startswith("Error: secret was already rotated")
    assert again.stdout == ""


def test_rotate_rejects_a_bad_grace(run: Run, client_id: str) -> None:
    old = issue(run, client_id)
    assert run("secret", "rotate", old["secret_id"], "--grace", "later").exit_code == 2


def test_update_scopes_name_and_expiry(run: Run, client_id: str) -> None:
    issued = issue(run, client_id, "--scope", "a:read", "--expires-in", "1d")
    secret_id, token = issued["secret_id"], issued["token"]
    assert code_of(run("verify", token, "--scope", "a:write", "--json")) == "INSUFFICIENT_SCOPE"
    data = out_json(
        run("secret", "update", secret_id, "--scope", "a:*", "--name", "wide", "--json")
    )
    assert data["scopes"] == ["a:*"]
    assert data["name"] == "wide"
    assert data["expires_at"] == issued["expires_at"]
    assert code_of(run("verify", token, "--scope", "a:write", "--json")) == "VALID"

    longer = out_json(run("secret", "update", secret_id, "--expires-in", "30d", "--json"))
    assert _at(longer["expires_at"]) - _at(issued["expires_at"]) > timedelta(days=28)
    forever = out_json(run("secret", "update", secret_id, "--no-expiry", "--json"))
    assert forever["expires_at"] is None
    human = run("secret", "update", secret_id, "--name", "x")
    assert human.exit_code == 0
    assert "Secret updated" in human.stdout


@pytest.mark.parametrize(
    "args",
    [(), ("--expires-in", "1d", "--no-expiry"), ("--expires-in", "0s"), ("--scope", "bad")],
    ids=["nothing", "both-expiries", "zero", "bad-scope"],
)
def test_update_errors(run: Run, client_id: str, args: tuple[str, ...]) -> None:
    issued = issue(run, client_id, "--scope", "a:read")
    result = run("secret", "update", issued["secret_id"], *args)
    assert result.exit_code != 0
    assert result.stderr.splitlines()[-1].startswith("Error: ")
    listed = out_json(run("secret", "list", client_id, "--json"))
    assert listed[0]["scopes"] == ["a:read"]


def test_update_unknown_secret(run: Run, admin: dict[str, Any]) -> None:
    result = run("secret", "update", "AAAAAAAAAAAAAAAA", "--name", "x")
    assert result.exit_code == 1
    assert "secret not found" in result.stderr
