"""``keyhive owner``, ``keyhive role``, named ``--rate``, ``--role`` and ``verify --cost``."""

from __future__ import annotations

from typing import Any

from .conftest import Run, code_of, issue, out_json


def test_named_limits_roles_and_costs_from_the_command_line(
    run: Run, admin: dict[str, Any]
) -> None:
    made = out_json(run("role", "create", "reader", "--scope", "articles:read", "--json"))
    assert made["scopes"] == ["articles:read"]
    client_id = out_json(run("client", "create", "--name", "web", "--owner", "acme", "--json"))[
        "client_id"
    ]
    data = issue(
        run, client_id, "--rate", "burst=3/second", "--rate", "day=100/day", "--role", "reader"
    )
    assert [r["name"] for r in data["rate_limits"]] == ["burst", "day"]
    assert data["roles"] == ["reader"]
    token = data["token"]
    first = out_json(run("verify", token, "--scope", "articles:read", "--cost", "2", "--json"))
    assert first["scopes"] == ["articles:read"]
    assert [(s["name"], s["remaining"]) for s in first["limits"]] == [("burst", 1), ("day", 98)]
    # Without Redis each command counts alone: a cost above the limit never fits.
    refused = run("verify", token, "--cost", "4")
    assert refused.exit_code == 1 and "refused by the secret's limit burst" in refused.output
    assert run("verify", token, "--cost", "-1").exit_code == 2


def test_owner_set_and_show(run: Run, admin: dict[str, Any]) -> None:
    set_ = out_json(
        run(
            "owner", "set", "acme", "--rate", "100/minute", "--rate", "day=5000/day",
            "--credits", "10", "--refill", "monthly", "--json",
        )
    )  # fmt: skip
    assert [r["name"] for r in set_["rate_limits"]] == ["default", "day"]
    assert (set_["credits"], set_["refill"]) == (10, "month")
    dropped = out_json(run("owner", "set", "acme", "--no-rate", "day", "--no-credits", "--json"))
    assert [r["name"] for r in dropped["rate_limits"]] == ["default"] and dropped["credits"] is None
    assert out_json(run("owner", "show", "acme", "--json")) == dropped
    assert run("owner", "set", "acme").exit_code == 2, "nothing to change"
    assert run("owner", "set", "acme", "--no-rate", "missing").exit_code == 1
    assert run("owner", "set", "acme", "--rate", "fast").exit_code == 2


def test_role_update_list_and_delete(run: Run, admin: dict[str, Any], client_id: str) -> None:
    run("role", "create", "ops", "--scope", "metrics:read", "--description", "on call")
    assert run("role", "create", "boss", "--scope", "keyhive:admin").exit_code == 1
    secret = issue(run, client_id, "--role", "ops")
    assert code_of(run("verify", secret["token"], "--scope", "metrics:read", "--json")) == "VALID"
    out_json(run("role", "update", "ops", "--scope", "logs:read", "--json"))
    denied = run("verify", secret["token"], "--scope", "metrics:read", "--json")
    assert code_of(denied) == "INSUFFICIENT_SCOPE"
    assert [r["name"] for r in out_json(run("role", "list", "--json"))] == ["ops"]
    held = run("role", "delete", "ops")
    assert held.exit_code == 1 and "held by 1 secret" in held.output
    run("secret", "update", secret["secret_id"], "--no-roles")
    assert run("role", "delete", "ops").exit_code == 0
