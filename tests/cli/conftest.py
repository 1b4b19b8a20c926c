"""Fixtures for CLI tests: a fresh SQLite file per test and a runner bound to it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result

from keyhive.cli import main

Run = Callable[..., Result]

_SETTINGS = ("KEYHIVE_DATABASE_URL", "KEYHIVE_HASHER", "KEYHIVE_TOKEN_PREFIX", "KEYHIVE_REDIS_URL")


@pytest.fixture(autouse=True)
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap hashing, wide tables, and no KEYHIVE_* settings leaking in (or out, via serve)."""
    monkeypatch.setenv("KEYHIVE_HASHING_PROFILE", "cheapest")
    monkeypatch.setenv("COLUMNS", "250")
    for name in _SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def run(db_url: str) -> Run:
    """Run ``keyhive --db <tmp sqlite> ARGS``; ``input`` feeds stdin."""

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(main, ["--db", db_url, *args], input=input)

    return invoke


def out_json(result: Result) -> Any:
    """The JSON a successful command printed on stdout."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def admin(run: Run) -> dict[str, Any]:
    """An initialised database; the admin token and ids ``init --json`` printed."""
    data: dict[str, Any] = out_json(run("init", "--json"))
    return data


@pytest.fixture
def client_id(run: Run, admin: dict[str, Any]) -> str:
    """A client named acme on an initialised database."""
    return str(out_json(run("client", "create", "--name", "acme", "--json"))["client_id"])


def issue(run: Run, client_id: str, *args: str) -> dict[str, Any]:
    """Issue a secret with ``--json`` and return the Issued dict (token included)."""
    data: dict[str, Any] = out_json(run("secret", "issue", client_id, *args, "--json"))
    return data


def code_of(result: Result) -> str:
    """The code ``verify --json`` printed (whatever the exit code)."""
    return str(json.loads(result.stdout)["code"])
