"""``keyhive serve``: options reach uvicorn and the environment; no server is started."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

from keyhive.server.protocol import HTTPTOOLS

from .conftest import Run


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    import uvicorn

    seen: list[dict[str, Any]] = []

    def fake_run(app: str, **kwargs: Any) -> None:
        seen.append({"app": app, **kwargs})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return seen


def test_serve_passes_options_to_uvicorn(
    run: Run, db_url: str, calls: list[dict[str, Any]]
) -> None:
    result = run("serve", "--host", "0.0.0.0", "--port", "9000", "--workers", "3")
    assert result.exit_code == 0, result.output
    assert calls == [
        {
            "app": "keyhive.server.app:create_app_from_env",
            "factory": True,
            "host": "0.0.0.0",
            "port": 9000,
            "workers": 3,
            "log_level": "info",
            "access_log": False,
            "proxy_headers": False,
            "http": HTTPTOOLS,
        }
    ]
    assert os.environ["KEYHIVE_DATABASE_URL"] == db_url


def test_several_workers_share_a_metrics_directory_while_serving(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    seen: list[str | None] = []

    def fake_run(app: str, **kwargs: Any) -> None:
        directory = os.environ.get("KEYHIVE_METRICS_DIR")
        assert directory is None or os.path.isdir(directory)
        seen.append(directory)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    assert run("serve", "--workers", "2").exit_code == 0
    assert run("serve").exit_code == 0
    assert seen[0] is not None and seen[1] is None, "one worker needs no shared directory"
    assert "KEYHIVE_METRICS_DIR" not in os.environ
    assert not os.path.exists(seen[0]), "removed once the server stopped"


def test_serve_defaults(run: Run, calls: list[dict[str, Any]]) -> None:
    result = run("serve")
    assert result.exit_code == 0
    assert (calls[0]["host"], calls[0]["port"], calls[0]["workers"]) == ("127.0.0.1", 8080, 1)
    assert "dashboard at http://127.0.0.1:8080/dashboard" in result.stderr


def test_global_options_reach_the_server_environment(run: Run, calls: list[dict[str, Any]]) -> None:
    result = run("--prefix", "acme", "--hasher", "argon2id", "--redis", "redis://r:6379/0", "serve")
    assert result.exit_code == 0, result.output
    assert os.environ["KEYHIVE_TOKEN_PREFIX"] == "acme"
    assert os.environ["KEYHIVE_HASHER"] == "argon2id"
    assert os.environ["KEYHIVE_REDIS_URL"] == "redis://r:6379/0"


@pytest.mark.parametrize(
    "args", [("--port", "0"), ("--port", "http"), ("--workers", "0"), ("--log-level", "loud")]
)
def test_bad_options_are_usage_errors(
    run: Run, calls: list[dict[str, Any]], args: tuple[str, ...]
) -> None:
    assert run("serve", *args).exit_code == 2
    assert calls == []


def test_missing_uvicorn_is_a_clear_error(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    result = run("serve")
    assert result.exit_code == 1
    assert "keyhive[server]" in result.stderr
    assert "Traceback" not in result.output


def test_trusted_proxies_reach_the_server_environment(
    run: Run, calls: list[dict[str, Any]]
) -> None:
    result = run("serve", "--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "192.0.2.1")
    assert result.exit_code == 0, result.output
    assert os.environ["KEYHIVE_TRUSTED_PROXIES"] == "10.0.0.0/8,192.0.2.1"


def test_a_bad_trusted_proxy_is_a_clear_error(run: Run, calls: list[dict[str, Any]]) -> None:
    result = run("serve", "--trusted-proxy", "not-a-network")
    assert result.exit_code == 1
    assert "trusted_proxies" in result.stderr
    assert calls == []
