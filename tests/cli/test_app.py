"""The group: help on every command, docs that name every command, and clean errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from keyhive.cli import main

from .conftest import Run

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((*path, name))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*path, name)))
    return found


COMMANDS = _commands(main)


def test_the_contract_commands_exist() -> None:
    expected = {
        ("init",),
        ("serve",),
        ("client", "create"),
        ("client", "list"),
        ("client", "show"),
        ("client", "disable"),
        ("client", "enable"),
        ("secret", "issue"),
        ("secret", "list"),
        ("secret", "revoke"),
        ("secret", "rotate"),
        ("secret", "update"),
        ("verify",),
        ("import",),
        ("audit",),
    }
    assert expected <= set(COMMANDS)


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


LEAVES = [p for p in COMMANDS if not isinstance(_command(p), click.Group)]


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Usage: keyhive {' '.join(path)}" in result.output
    assert _command(path).help, f"{path} has no help text"


@pytest.mark.parametrize("path", [p for p in LEAVES if p != ("serve",)], ids=" ".join)
def test_every_command_has_json(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert "--json" in result.output


def test_docs_mention_every_command() -> None:
    text = DOCS.read_text()
    for path in COMMANDS:
        assert f"keyhive {' '.join(path)}" in text, f"docs/cli.md does not mention {path}"


def test_docs_mention_every_option() -> None:
    text = DOCS.read_text()
    for path in COMMANDS:
        for param in _command(path).params:
            if isinstance(param, click.Option):
                assert any(o in text for o in param.opts), f"{path}: {param.opts} not documented"


def test_group_help_lists_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in ("init", "serve", "client", "secret", "verify", "import", "audit"):
        assert name in result.output


def test_missing_sqlite_file_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    db = tmp_path / "absent.db"
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "client", "list"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "keyhive init" in result.stderr
    assert "Traceback" not in result.output
    assert not db.exists()


def test_database_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "from-env.db"
    monkeypatch.setenv("KEYHIVE_DATABASE_URL", f"sqlite:///{db}")
    result = CliRunner().invoke(main, ["init", "--if-missing"])
    assert result.exit_code == 0, result.output
    assert db.exists()


def test_unopenable_database_is_one_clear_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"
    result = CliRunner().invoke(main, ["--db", url, "init"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot open database")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_text("this is not sqlite\n" * 100)
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{path}", "client", "list"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: database error")
    assert "Traceback" not in result.output


def test_unsupported_database_url(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--db", "mysql://x/y", "init"])
    assert result.exit_code == 1
    assert "unsupported database" in result.stderr


@pytest.mark.parametrize(
    ("userinfo", "shown"),
    [("user:hunter2", "user:***@"), ("user:hun@ter2", "user:***@"), (":hunter2", "://:***@")],
)
def test_password_in_url_is_hidden_in_errors(
    monkeypatch: pytest.MonkeyPatch, userinfo: str, shown: str
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    url = f"postgresql+psycopg://{userinfo}@127.0.0.1:1/keyhive"
    result = CliRunner().invoke(main, ["--db", url, "client", "list"])
    assert result.exit_code == 1
    assert "hunter2" not in result.output and "ter2" not in result.output
    assert shown in result.stderr


def test_bad_prefix_is_a_usage_error(run: Run) -> None:
    result = CliRunner().invoke(main, ["--prefix", "NO", "audit"])
    assert result.exit_code == 2
    assert "--prefix" in result.stderr


def test_unknown_hasher_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["--hasher", "md5", "audit"])
    assert result.exit_code == 2


def test_prefix_option_names_new_tokens(run: Run, db_url: str, admin: object) -> None:
    created = CliRunner().invoke(
        main, ["--db", db_url, "client", "create", "--name", "p", "--json"]
    )
    client_id = json.loads(created.stdout)["client_id"]
    result = CliRunner().invoke(
        main, ["--db", db_url, "--prefix", "acme", "secret", "issue", client_id, "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["token"].startswith("acme_")


def test_unexpected_errors_are_one_line(
    run: Run, monkeypatch: pytest.MonkeyPatch, admin: object
) -> None:
    from keyhive.service.hive import KeyHive

    def broken(self: KeyHive, **kwargs: object) -> None:
        raise RuntimeError("boom with details")

    monkeypatch.setattr(KeyHive, "audit", broken)
    result = run("audit")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: unexpected RuntimeError; set KEYHIVE_DEBUG=1 to see the traceback\n"
    )


def test_unknown_command_is_a_usage_error(run: Run) -> None:
    assert run("frobnicate").exit_code == 2
