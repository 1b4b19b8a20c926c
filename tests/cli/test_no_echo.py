"""No CLI message repeats a token that was given where an id, a scope or a number belongs."""

from __future__ import annotations

import pytest

from keyhive.core.tokens import make_token

from .conftest import Run, issue


def _runs(token: str) -> list[str]:
    secret_part = token.split("_", 2)[2]
    return [secret_part[i : i + 12] for i in range(len(secret_part) - 11)]


@pytest.mark.parametrize(
    "args",
    [
        ("client", "show", "{t}"),
        ("client", "show", "{t}", "--json"),
        ("client", "disable", "{t}"),
        ("secret", "list", "{t}"),
        ("secret", "revoke", "{t}"),
        ("secret", "revoke", "{t}", "--reason", "leaked"),
        ("secret", "rotate", "{t}"),
        ("secret", "update", "{t}", "--name", "n"),
        ("secret", "issue", "{c}", "--scope", "{t}"),
        ("secret", "issue", "{c}", "--expires-in", "{t}"),
        ("secret", "issue", "{c}", "--allow-ip", "{t}"),
        ("secret", "issue", "{c}", "--rate", "{t}"),
        ("secret", "issue", "{c}", "--refill", "{t}", "--credits", "1"),
        ("client", "list", "--limit", "{t}"),
        ("client", "list", "--after", "{t}"),
        ("audit", "--after", "{t}"),
        ("verify", "{t}", "--scope", "{t}"),
        ("client", "show", "{c}", "{t}"),
        ("--prefix", "{t}", "client", "list"),
    ],
)
def test_a_misplaced_token_is_not_repeated(run: Run, client_id: str, args: tuple[str, ...]) -> None:
    token = issue(run, client_id, "--scope", "a:b")["token"]
    forged = make_token().text
    for presented in (token, forged):
        result = run(*(a.replace("{t}", presented).replace("{c}", client_id) for a in args))
        assert result.exit_code != 0 or args[0] == "client"
        text = result.output + (result.stderr or "")
        leaked = [run_ for run_ in _runs(presented) if run_ in text]
        assert not leaked, text
        assert "Traceback" not in text


def test_not_found_names_an_id_shaped_id(run: Run, admin: object) -> None:
    assert run("secret", "revoke", "AAAAAAAAAAAAAAAA").stderr == (
        "Error: secret not found: AAAAAAAAAAAAAAAA\n"
    )
    assert run("client", "show", "nope").stderr == "Error: client not found: nope\n"
    token = make_token().text
    assert run("client", "show", token).stderr == "Error: client not found: (not a valid id)\n"
    assert run("secret", "list", token).stderr == "Error: client not found: (not a valid id)\n"
    assert run("secret", "revoke", token).stderr == "Error: secret not found: (not a valid id)\n"
