"""``keyhive admin recover``: when init prints nothing because an admin exists."""

from __future__ import annotations

from typing import Any

from .conftest import Run, code_of, out_json


def test_init_then_lose_the_admin_then_recover(run: Run, admin: dict[str, Any]) -> None:
    assert run("secret", "revoke", admin["secret_id"]).exit_code == 0
    assert run("client", "disable", admin["client_id"]).exit_code == 0
    again = run("init")
    assert again.exit_code == 0 and "kh_" not in again.output  # an admin exists: no token
    assert "keyhive admin recover" in again.output
    result = run("admin", "recover")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("kh_") and "\n" not in token  # the token alone on stdout
    assert "shown this once" in result.stderr
    verdict = run("verify", token, "--scope", "keyhive:admin", "--scope", "keyhive:verify")
    assert verdict.exit_code == 0, verdict.output
    assert code_of(run("verify", admin["admin_token"], "--json")) == "REVOKED"
    events = out_json(run("audit", "--json"))
    assert [e["action"] for e in events[-3:]] == ["client.enable", "secret.issue", "admin.recover"]
    assert {e["actor"] for e in events[-3:]} == {events[-1]["actor"]}
    assert events[-1]["actor"].startswith("cli")
    assert token not in run("audit").stdout


def test_json_output(run: Run, admin: dict[str, Any]) -> None:
    data = out_json(run("admin", "recover", "--json"))
    assert set(data) == {"admin_token", "client_id", "secret_id"}
    assert data["client_id"] == admin["client_id"]
    assert code_of(run("verify", data["admin_token"], "--json")) == "VALID"


def test_needs_an_existing_database(run: Run) -> None:
    result = run("admin", "recover")
    assert result.exit_code == 1
    assert "keyhive init" in result.stderr
