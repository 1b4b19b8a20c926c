"""``keyhive audit``: who changed what, paged, filtered, and free of secrets."""

from __future__ import annotations

from typing import Any

from .conftest import Run, issue, out_json


def test_audit_records_cli_changes(run: Run, client_id: str) -> None:
    issued = issue(run, client_id, "--scope", "a:read")
    run("secret", "revoke", issued["secret_id"], "--reason", "leaked")
    events = out_json(run("audit", "--json"))
    actions = [e["action"] for e in events]
    assert actions == [
        "client.create",
        "secret.issue",
        "client.create",
        "secret.issue",
        "secret.revoke",
    ]
    assert events[0]["actor"] == "keyhive init"
    assert all(e["actor"].startswith("cli") for e in events[2:])
    assert events[-1]["after"]["revoked_reason"] == "leaked"
    text = run("audit", "--json").output + run("audit").output
    assert issued["token"] not in text
    assert issued["token"].split("_")[2] not in text


def test_audit_pages_and_filters(run: Run, client_id: str) -> None:
    issued = issue(run, client_id)
    run("secret", "revoke", issued["secret_id"])
    first = out_json(run("audit", "--limit", "2", "--json"))
    assert [e["id"] for e in first] == [1, 2]
    rest = out_json(run("audit", "--after", "2", "--json"))
    assert [e["id"] for e in rest] == [3, 4, 5]
    about = out_json(run("audit", "--target", issued["secret_id"], "--json"))
    assert [e["action"] for e in about] == ["secret.issue", "secret.revoke"]
    human = run("audit", "--limit", "2")
    assert human.exit_code == 0
    assert "--after 2" in human.stderr


def test_audit_human_table_shows_changes(run: Run, client_id: str) -> None:
    run("client", "disable", client_id)
    result = run("audit", "--target", client_id)
    assert result.exit_code == 0
    assert "client.disable" in result.stdout
    assert "enabled: True -> False" in result.stdout


def test_audit_rejects_bad_paging(run: Run, admin: dict[str, Any]) -> None:
    assert run("audit", "--limit", "0").exit_code == 2
    assert run("audit", "--limit", "1001").exit_code == 2
    assert run("audit", "--after", "-1").exit_code == 2
