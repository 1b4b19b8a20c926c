"""``keyhive init``: the first admin token is printed once, and only once."""

from __future__ import annotations

import json
from typing import Any

from keyhive import KeyHive, Settings

from .conftest import Run, out_json


def test_init_prints_the_admin_token_once(run: Run, db_url: str) -> None:
    first = run("init")
    assert first.exit_code == 0, first.output
    token = first.stdout.strip()
    assert token.startswith("kh_")
    assert "shown this once" in first.stderr
    with KeyHive(db_url, settings=Settings(hashing_profile="cheapest")) as hive:
        result = hive.verify(token, ["keyhive:admin", "keyhive:verify"])
    assert result.valid

    second = run("init")
    assert second.exit_code == 0, second.output
    assert "kh_" not in second.output
    assert "ready" in second.stdout


def test_init_json(run: Run) -> None:
    data: dict[str, Any] = out_json(run("init", "--json"))
    assert data["created"] is True
    assert data["admin_token"].startswith("kh_")
    assert data["admin_token"].split("_")[1] == data["secret_id"]
    assert data["client_id"]

    again = out_json(run("init", "--json"))
    assert again == {"created": False, "admin_token": None, "client_id": None, "secret_id": None}


def test_init_if_missing_is_quiet_when_initialised(run: Run) -> None:
    first = run("init", "--if-missing")
    assert first.exit_code == 0
    assert first.stdout.strip().startswith("kh_")
    second = run("init", "--if-missing")
    assert second.exit_code == 0
    assert second.output == ""


def test_token_is_not_shown_by_later_commands(run: Run, admin: dict[str, Any]) -> None:
    token = admin["admin_token"]
    for args in (("client", "list", "--json"), ("audit", "--json"), ("audit",)):
        result = run(*args)
        assert result.exit_code == 0
        assert token not in result.output
        assert token.split("_")[2] not in result.output
    show = run("client", "show", admin["client_id"], "--json")
    assert token.split("_")[2] not in show.output
    assert json.loads(show.stdout)["secrets"][0]["secret_id"] == admin["secret_id"]
