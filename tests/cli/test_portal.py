"""``keyhive portal link``: the link alone on stdout, --json, and one-line errors."""

from __future__ import annotations

from typing import Any

import pytest

from keyhive import KeyHive, Settings

from .conftest import Run, out_json


@pytest.fixture(autouse=True)
def no_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEYHIVE_PUBLIC_URL", raising=False)


def _open(db_url: str, url: str) -> Any:
    with KeyHive(db_url, settings=Settings(hashing_profile="cheapest")) as hive:
        return hive.open_portal_session(url.rsplit("/", 1)[1])


def test_the_link_is_alone_on_stdout(run: Run, admin: dict[str, Any], db_url: str) -> None:
    made = run(
        "portal",
        "link",
        "ada",
        "--scope",
        "articles:read",
        "--scope",
        "users:read",
        "--max-secrets",
        "2",
        "--return-url",
        "https://app.example/account",
        "--client-name",
        "Ada's apps",
        "--base-url",
        "https://keys.example.com/",
    )
    assert made.exit_code == 0, made.output
    url = made.stdout.strip()
    assert url.startswith("https://keys.example.com/portal/enter/") and "\n" not in url
    assert "works once" in made.stderr and "articles:read users:read" in made.stderr
    session = _open(db_url, url)
    assert session.owner == "ada" and session.max_secrets == 2 and session.created_by is None
    with KeyHive(db_url, settings=Settings(hashing_profile="cheapest")) as hive:
        assert [c.name for c in hive.list_clients(owner="ada")] == ["Ada's apps"]
        event = [e for e in hive.audit() if e.action == "portal.session.create"][-1]
        assert event.actor is not None and event.actor.startswith("cli")


def test_json_and_the_public_url_variable(
    run: Run, admin: dict[str, Any], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYHIVE_PUBLIC_URL", "http://127.0.0.1:8080")
    data = out_json(run("portal", "link", "bob", "--scope", "a:read", "--ttl", "1h", "--json"))
    assert set(data) == {"url", "expires_at", "owner", "allowed_scopes", "max_secrets"}
    assert data["url"].startswith("http://127.0.0.1:8080/portal/enter/")
    assert data["allowed_scopes"] == ["a:read"] and data["max_secrets"] is None
    assert _open(db_url, data["url"]) is not None


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["--scope", "a:read"], 2, "--base-url or set KEYHIVE_PUBLIC_URL"),
        (["--base-url", "http://k"], 2, "at least one --scope"),
        (["--scope", "keyhive:*", "--base-url", "http://k"], 1, "keyhive's own scopes"),
        (["--scope", "nope", "--base-url", "http://k"], 2, "invalid scope"),
        (["--scope", "a:b", "--ttl", "2d", "--base-url", "http://k"], 1, "ttl must be"),
        (["--scope", "a:b", "--max-secrets", "-1", "--base-url", "http://k"], 2, "-1"),
        (["--scope", "a:b", "--return-url", "javascript:x", "--base-url", "http://k"], 1, "http"),
        (["--scope", "a:b", "--base-url", "ftp://k"], 1, "base_url must be"),
    ],
)
def test_errors_are_one_line(
    run: Run, admin: dict[str, Any], args: list[str], code: int, text: str
) -> None:
    refused = run("portal", "link", "ada", *args)
    assert refused.exit_code == code, refused.output
    assert text in refused.output and "Traceback" not in refused.output
    assert refused.stdout == ""
