"""``keyhive oauth rotate-key`` and ``keyhive oauth keys``."""

from __future__ import annotations

from typing import Any

from .conftest import Run, out_json


def test_rotate_key_makes_a_new_current_key(run: Run, admin: dict[str, Any]) -> None:
    first = out_json(run("oauth", "rotate-key", "--json"))
    assert first["generation"] == 1
    assert first["published"] == [first["kid"]]
    second = out_json(run("oauth", "rotate-key", "--json"))
    assert second["generation"] == 2
    assert second["published"] == [second["kid"], first["kid"]]
    keys = out_json(run("oauth", "keys", "--json"))
    assert [(k["kid"], k["current"]) for k in keys] == [
        (second["kid"], True),
        (first["kid"], False),
    ]
    shown = run("oauth", "keys")
    assert second["kid"] in shown.output
    audit = out_json(run("audit", "--json"))
    assert [e["action"] for e in audit][-2:] == ["oauth.key.create", "oauth.key.create"]
    assert audit[-1]["actor"].startswith("cli")


def test_rotate_key_refuses_without_a_durable_server_key(run: Run) -> None:
    from click.testing import CliRunner

    from keyhive.cli import main

    result = CliRunner().invoke(main, ["--db", "memory://", "oauth", "rotate-key"])
    assert result.exit_code == 1
    assert "server key" in result.output
    assert "Traceback" not in result.output
