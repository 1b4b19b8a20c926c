"""``keyhive client ...``: create, list, show, disable, enable."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Run, code_of, issue, out_json


def test_create_with_owner_and_metadata(run: Run, admin: dict[str, Any]) -> None:
    data = out_json(
        run(
            "client", "create", "--name", "acme", "--owner", "team-7",
            "--metadata", '{"plan": "pro"}', "--json",
        )
    )  # fmt: skip
    assert data["name"] == "acme"
    assert data["owner"] == "team-7"
    assert data["metadata"] == {"plan": "pro"}
    assert data["enabled"] is True
    assert len(data["client_id"]) >= 40


def test_create_human_output_shows_the_id(run: Run, admin: dict[str, Any]) -> None:
    result = run("client", "create", "--name", "acme")
    assert result.exit_code == 0
    listed = out_json(run("client", "list", "--json"))
    created = next(c for c in listed if c["name"] == "acme")
    assert created["client_id"] in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--metadata", "{nope"), "valid JSON"),
        (("--metadata", "[1, 2]"), "JSON object"),
    ],
)
def test_create_rejects_bad_metadata(
    run: Run, admin: dict[str, Any], args: tuple[str, ...], message: str
) -> None:
    result = run("client", "create", "--name", "acme", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_create_requires_a_name(run: Run, admin: dict[str, Any]) -> None:
    assert run("client", "create").exit_code == 2


def test_create_rejects_an_empty_name(run: Run, admin: dict[str, Any]) -> None:
    result = run("client", "create", "--name", "   ")
    assert result.exit_code == 1
    assert result.stderr == "Error: name must not be empty\n"


def test_list_filters_by_owner(run: Run, admin: dict[str, Any]) -> None:
    run("client", "create", "--name", "a", "--owner", "o1")
    run("client", "create", "--name", "b", "--owner", "o2")
    everyone = out_json(run("client", "list", "--json"))
    assert {c["name"] for c in everyone} == {"a", "b", "keyhive admin"}
    mine = out_json(run("client", "list", "--owner", "o1", "--json"))
    assert [c["name"] for c in mine] == ["a"]
    table = run("client", "list", "--owner", "o2")
    assert table.exit_code == 0
    assert " b " in table.stdout
    assert " a " not in table.stdout


def test_list_pages(run: Run, admin: dict[str, Any]) -> None:
    for name in ("a", "b", "c"):
        run("client", "create", "--name", name)
    first = out_json(run("client", "list", "--limit", "2", "--json"))
    rest = out_json(run("client", "list", "--after", first[-1]["client_id"], "--json"))
    ids = [c["client_id"] for c in first + rest]
    assert len(ids) == 4
    assert ids == sorted(ids)
    assert "--after" in run("client", "list", "--limit", "2").stderr
    assert run("client", "list", "--limit", "0").exit_code == 2


def test_show_lists_the_clients_secrets(run: Run, client_id: str) -> None:
    issued = issue(run, client_id, "--scope", "articles:read", "--name", "ci")
    data = out_json(run("client", "show", client_id, "--json"))
    assert data["client_id"] == client_id
    assert [s["secret_id"] for s in data["secrets"]] == [issued["secret_id"]]
    assert issued["token"] not in run("client", "show", client_id, "--json").output
    human = run("client", "show", client_id)
    assert human.exit_code == 0
    assert issued["secret_id"] in human.stdout
    assert "articles:read" in human.stdout
    assert issued["token"] not in human.output


def test_show_unknown_client(run: Run, admin: dict[str, Any]) -> None:
    result = run("client", "show", "nope")
    assert result.exit_code == 1
    assert result.stderr == "Error: client not found: nope\n"


def test_disable_and_enable_change_verification(run: Run, client_id: str) -> None:
    token = issue(run, client_id)["token"]
    disabled = out_json(run("client", "disable", client_id, "--json"))
    assert disabled["enabled"] is False
    assert code_of(run("verify", token, "--json")) == "DISABLED"
    result = run("client", "enable", client_id)
    assert result.exit_code == 0
    assert "enabled" in result.stdout
    assert code_of(run("verify", token, "--json")) == "VALID"


@pytest.mark.parametrize("command", ["disable", "enable"])
def test_disable_enable_unknown_client(run: Run, admin: dict[str, Any], command: str) -> None:
    result = run("client", command, "nope")
    assert result.exit_code == 1
    assert "client not found" in result.stderr
