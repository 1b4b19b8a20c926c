"""``keyhive webhook``: add (the secret once, alone on stdout), list, remove, test, deliveries."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Run, out_json


@pytest.fixture(autouse=True)
def allow_private(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYHIVE_WEBHOOK_ALLOW_PRIVATE", "1")


def test_add_prints_the_secret_alone_then_list_test_deliveries_remove(
    run: Run, admin: dict[str, Any]
) -> None:
    added = run(
        "webhook",
        "add",
        "http://127.0.0.1:9/hook",
        "--event",
        "secret.revoked",
        "--event",
        "secret.leaked",
        "--description",
        "pager",
    )
    assert added.exit_code == 0, added.output
    secret = added.stdout.strip()
    assert secret.startswith("whsec_") and "\n" not in secret
    assert "shown this once" in added.stderr

    (listed,) = out_json(run("webhook", "list", "--json"))
    assert listed["events"] == ["secret.leaked", "secret.revoked"]
    assert listed["description"] == "pager" and "secret" not in listed
    ident = listed["webhook_id"]
    table = run("webhook", "list")
    assert ident in table.stdout and secret not in table.output

    queued = out_json(run("webhook", "test", ident, "--json"))
    assert (queued["type"], queued["status"]) == ("webhook.test", "pending")
    (delivery,) = out_json(run("webhook", "deliveries", ident, "--json"))
    assert delivery["event_id"] == queued["event_id"]
    shown = run("webhook", "deliveries", ident)
    assert queued["event_id"] in shown.stdout and "pending" in shown.stdout

    gone = out_json(run("webhook", "remove", ident, "--json"))
    assert gone["webhook_id"] == ident
    assert out_json(run("webhook", "list", "--json")) == []
    missing = run("webhook", "remove", ident)
    assert missing.exit_code == 1 and "webhook not found" in missing.stderr
    actions = [e["action"] for e in out_json(run("audit", "--json"))]
    assert actions[-2:] == ["webhook.create", "webhook.delete"]
    assert all(e["actor"].startswith("cli") for e in out_json(run("audit", "--json"))[-2:])


def test_add_json_holds_the_secret(run: Run, admin: dict[str, Any]) -> None:
    data = out_json(run("webhook", "add", "http://127.0.0.1:9/", "--event", "*", "--json"))
    assert data["secret"].startswith("whsec_") and data["events"] == ["*"]


def test_refusals_are_one_line_errors(
    run: Run, admin: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    unknown = run("webhook", "add", "http://127.0.0.1:9/", "--event", "secret.stolen")
    assert unknown.exit_code == 2 and "secret.stolen" in unknown.stderr
    none = run("webhook", "add", "http://127.0.0.1:9/")
    assert none.exit_code == 2
    monkeypatch.delenv("KEYHIVE_WEBHOOK_ALLOW_PRIVATE")
    private = run("webhook", "add", "https://127.0.0.1/hook", "--event", "*")
    assert private.exit_code == 1
    assert "KEYHIVE_WEBHOOK_ALLOW_PRIVATE" in private.stderr and "Traceback" not in private.output
    plain = run("webhook", "add", "http://127.0.0.1/hook", "--event", "*")
    assert plain.exit_code == 1 and "https" in plain.stderr
    monkeypatch.setenv("KEYHIVE_WEBHOOK_ALLOW_PRIVATE", "maybe")
    bad = run("webhook", "list")
    assert bad.exit_code == 1 and "KEYHIVE_WEBHOOK_ALLOW_PRIVATE" in bad.stderr


def test_deliveries_of_an_unknown_webhook(run: Run, admin: dict[str, Any]) -> None:
    result = run("webhook", "deliveries", "wh_nope")
    assert result.exit_code == 1 and "webhook not found" in result.stderr
