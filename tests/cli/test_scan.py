"""``keyhive scan``: a tree and a real git history with active, revoked, expired and
look-alike tokens; exactly the real ones are reported, never printed, and revoked on demand."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from keyhive import KeyHive, Settings
from keyhive.core.tokens import checksum, parse_token

from .conftest import Run


@dataclass
class Tokens:
    active: str
    active_old: str  # only ever in a line an old commit added and the next one removed
    active_merge: str  # only in a line a merge commit introduced itself
    revoked: str
    expired: str
    innocent: str  # active, never leaked: a forgery with its id must not touch it

    def all(self) -> list[str]:
        return [self.active, self.active_old, self.active_merge, self.revoked, self.expired]


def sid(token: str) -> str:
    return parse_token(token).secret_id


def look_alike(token: str) -> str:
    """Same shape, checksum broken."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def forged(token: str) -> str:
    """The same public id with a valid checksum: not the token that was issued."""
    body = token[:-7] + ("x" if token[-7] != "x" else "y")
    return body + checksum(body)


@pytest.fixture
def tokens(db_url: str) -> Iterator[Tokens]:
    hive = KeyHive(db_url, settings=Settings(hashing_profile="cheapest"))
    client = hive.create_client("acme").client_id
    issued = [hive.issue_secret(client).token for _ in range(4)]
    revoked = hive.issue_secret(client)
    hive.revoke(revoked.secret_id)
    expired = hive.issue_secret(client, expires_at=datetime.now(UTC) - timedelta(hours=1))
    hive.close()
    return Tokens(issued[0], issued[1], issued[2], revoked.token, expired.token, issued[3])


def secret_status(db_url: str, token: str) -> str:
    hive = KeyHive(db_url, settings=Settings(hashing_profile="cheapest"))
    try:
        [check] = hive.check_leaks([token])
        return check.status.value
    finally:
        hive.close()


def assert_no_token_text(result: Result, tokens: Tokens) -> None:
    """No run of 12 characters of any token's random part in stdout or stderr."""
    shown = result.stdout + result.stderr
    for token in [*tokens.all(), tokens.innocent]:
        random = token.rsplit("_", 1)[1][:-6]
        for start in range(len(random) - 11):
            assert random[start : start + 12] not in shown


def findings(result: Result) -> list[tuple[Any, ...]]:
    data = json.loads(result.stdout)
    return sorted(
        (f["commit"] is not None, f["path"], f["line"], f["column"], f["secret_id"], f["status"])
        for f in data["findings"]
    )


# -- a tree of files -------------------------------------------------------------------------
@pytest.fixture
def tree(tmp_path: Path, tokens: Tokens) -> Path:
    root = tmp_path / "tree"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "app.env").write_text(f"# settings\nTOKEN={tokens.active}\n")
    (root / "sub" / "notes.md").write_text(
        f"old: {tokens.revoked}\n"
        f"expired one: `{tokens.expired}`\n"
        f"typo: {look_alike(tokens.active)}\n"
        f"forged: {forged(tokens.innocent)}\n"
    )
    (root / "sub" / "deeper" / "image.bin").write_bytes(b"\x89PNG\0\0" + tokens.active.encode())
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text(tokens.active)  # .git directories are skipped
    os.symlink(root / "app.env", root / "sub" / "link.env")  # links met while walking too
    return root


def test_a_tree_reports_exactly_the_real_tokens(run: Run, tree: Path, tokens: Tokens) -> None:
    result = run("scan", str(tree), "--json")
    assert result.exit_code == 1, result.output
    assert findings(result) == sorted(
        [
            (False, str(tree / "app.env"), 2, 7, sid(tokens.active), "active"),
            (False, str(tree / "sub" / "notes.md"), 1, 6, sid(tokens.revoked), "revoked"),
            (False, str(tree / "sub" / "notes.md"), 2, 15, sid(tokens.expired), "expired"),
            (False, str(tree / "sub" / "notes.md"), 4, 9, sid(tokens.innocent), "unknown"),
        ]
    )
    assert_no_token_text(result, tokens)


def test_overlapping_paths_report_each_place_once(
    run: Run, history: History, tokens: Tokens
) -> None:
    repo = history.repo
    once = json.loads(run("scan", "--git", str(repo), "--json").stdout)["findings"]
    twice = run("scan", "--git", str(repo), str(repo), str(repo / "notes.txt"), "--json")
    assert json.loads(twice.stdout)["findings"] == once


def test_human_output_names_places_and_statuses_without_tokens(
    run: Run, tree: Path, tokens: Tokens
) -> None:
    result = run("scan", str(tree))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert f"{tree / 'app.env'}:2:7: kh_{sid(tokens.active)}_… (active)" in lines
    assert f"{tree / 'sub' / 'notes.md'}:1:6: kh_{sid(tokens.revoked)}_… (revoked)" in lines
    assert len(lines) == 4
    assert "Found 4 token(s) of 4 secret(s): 1 active, 1 expired, 1 revoked, 1 unknown." in (
        result.stderr
    )
    assert_no_token_text(result, tokens)


def test_json_output_has_the_documented_shape(run: Run, tree: Path, tokens: Tokens) -> None:
    data = json.loads(run("scan", str(tree / "app.env"), "--json").stdout)
    assert data == {
        "findings": [
            {
                "path": str(tree / "app.env"),
                "line": 2,
                "column": 7,
                "commit": None,
                "prefix": "kh",
                "secret_id": sid(tokens.active),
                "client_id": data["findings"][0]["client_id"],
                "status": "active",
                "revoked": False,
            }
        ],
        "summary": {
            "found": 1,
            "secrets": 1,
            "statuses": {"active": 1},
            "revoked_now": 0,
            "unreadable": 0,
        },
    }
    assert data["findings"][0]["client_id"]


def test_revoke_revokes_exactly_the_active_ones_and_still_exits_1(
    run: Run, tree: Path, tokens: Tokens, db_url: str
) -> None:
    result = run("scan", str(tree), "--revoke", "--json")
    assert result.exit_code == 1
    revoked_now = [f["secret_id"] for f in json.loads(result.stdout)["findings"] if f["revoked"]]
    assert revoked_now == [sid(tokens.active)]
    assert secret_status(db_url, tokens.active) == "revoked"
    assert secret_status(db_url, tokens.innocent) == "active", "a forgery revoked nothing"
    assert_no_token_text(result, tokens)
    audit = json.loads(run("audit", "--json", "--target", sid(tokens.active)).stdout)
    assert audit[-1]["action"] == "secret.revoke"
    assert audit[-1]["after"]["revoked_reason"] == "leaked"
    assert audit[-1]["actor"].startswith("cli")
    again = run("scan", str(tree))
    assert again.exit_code == 0, "nothing active is left"
    assert run("audit", "verify").exit_code == 0


def test_nothing_active_exits_0(run: Run, tree: Path, tokens: Tokens) -> None:
    result = run("scan", str(tree / "sub"))
    assert result.exit_code == 0, result.output
    empty = tree / "sub" / "deeper"
    result = run("scan", str(empty))
    assert result.exit_code == 0
    assert "No keyhive tokens found." in result.stderr


def test_offline_needs_no_database_and_counts_every_token(
    tmp_path: Path, tree: Path, tokens: Tokens
) -> None:
    from click.testing import CliRunner

    from keyhive.cli import main

    missing = f"sqlite:///{tmp_path / 'absent.db'}"
    result = CliRunner().invoke(main, ["--db", missing, "scan", "--offline", str(tree), "--json"])
    assert result.exit_code == 1, result.output
    assert {f["status"] for f in json.loads(result.stdout)["findings"]} == {"unchecked"}
    assert not (tmp_path / "absent.db").exists()
    clean = CliRunner().invoke(
        main, ["--db", missing, "scan", "--offline", str(tree / "sub" / "deeper")]
    )
    assert clean.exit_code == 0


def test_without_a_database_the_error_points_at_offline(tmp_path: Path, tree: Path) -> None:
    from click.testing import CliRunner

    from keyhive.cli import main

    missing = f"sqlite:///{tmp_path / 'absent.db'}"
    result = CliRunner().invoke(main, ["--db", missing, "scan", str(tree)])
    assert result.exit_code == 1
    assert "does not exist" in result.stderr and "--offline" in result.stderr


def test_a_large_file_is_read_in_chunks(run: Run, tmp_path: Path, tokens: Tokens) -> None:
    big = tmp_path / "big.log"
    chunk = 1 << 20
    with big.open("w") as handle:
        handle.write("x" * (chunk - 40) + "\n")  # the token straddles the first chunk's end
        handle.write(f"{tokens.revoked}\n")
        handle.write(("y" * 99 + "\n") * 25_000)
        handle.write("z" * (3 * chunk) + tokens.expired)  # one very long line
    result = run("scan", str(big), "--json")
    assert result.exit_code == 0, result.output
    assert findings(result) == sorted(
        [
            (False, str(big), 2, 1, sid(tokens.revoked), "revoked"),
            (False, str(big), 25_003, 3 * chunk + 1, sid(tokens.expired), "expired"),
        ]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "/no/such/path"], "does not exist"),
        (["scan"], "Missing argument"),
        (["scan", "--revoke", "--offline", "."], "--revoke needs the database"),
    ],
)
def test_bad_paths_and_options_are_usage_errors(
    run: Run, tokens: Tokens, args: list[str], message: str
) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_git_outside_a_repository_is_a_clear_error(run: Run, tree: Path, tokens: Tokens) -> None:
    outside = tree / "sub"
    result = run("scan", "--git", str(outside))
    assert result.exit_code == 2, result.output
    assert f"{outside} is not in a git repository" in result.stderr


def test_an_unreadable_file_is_a_warning_not_a_failure(
    run: Run, tree: Path, tokens: Tokens
) -> None:
    # Reading the start of /proc/self/mem fails (EIO) even for root, as these tests run.
    unreadable = Path("/proc/self/mem")
    if not unreadable.exists():
        pytest.skip("needs Linux /proc")
    result = run("scan", str(unreadable), str(tree / "app.env"), "--json")
    assert result.exit_code == 1, result.output
    assert "warning: cannot read /proc/self/mem" in result.stderr
    data = json.loads(result.stdout)
    assert data["summary"]["unreadable"] == 1 and data["summary"]["found"] == 1


# -- a git history ---------------------------------------------------------------------------
def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.test",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.test",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(repo.parent),
    }
    done = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 or "CONFLICT" in done.stdout, done.stderr
    return done.stdout.strip()


@dataclass
class History:
    repo: Path
    first: str  # added active_old at config.yaml:2
    second: str  # removed it; added notes.txt with revoked and a look-alike
    side: str  # on a branch: expired at side.txt:1
    merge: str  # a merge that resolved a conflict with active_merge at shared.txt:3


@pytest.fixture
def history(tmp_path: Path, tokens: Tokens) -> History:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "config.yaml").write_text(f"name: demo\ntoken: {tokens.active_old}\nend: 1\n")
    (repo / "shared.txt").write_text("base\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "first")
    first = git(repo, "rev-parse", "HEAD")
    (repo / "config.yaml").write_text("name: demo\nend: 1\n")
    (repo / "notes.txt").write_text(
        f"see {tokens.revoked}\nnot this: {look_alike(tokens.active)}\n"
    )
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "second")
    second = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-qb", "side")
    (repo / "side.txt").write_text(f"{tokens.expired}\n")
    (repo / "shared.txt").write_text(f"base\nside {tokens.expired}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "side")
    side = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")
    (repo / "shared.txt").write_text("base\nmain\n")
    git(repo, "commit", "-qam", "main")
    git(repo, "merge", "-q", "side")
    # The resolution keeps the side's line (reported at the side's commit, not again here)
    # and adds one of its own (reported at the merge).
    (repo / "shared.txt").write_text(f"base\nside {tokens.expired}\ntoken={tokens.active_merge}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "merge")
    merge = git(repo, "rev-parse", "HEAD")
    return History(repo, first, second, side, merge)


def test_git_history_reports_each_token_where_a_commit_added_it(
    run: Run, history: History, tokens: Tokens
) -> None:
    result = run("scan", "--git", str(history.repo), "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    in_history = sorted(
        (f["commit"], f["path"], f["line"], f["column"], f["secret_id"], f["status"])
        for f in data["findings"]
        if f["commit"] is not None
    )
    assert in_history == sorted(
        [
            (history.first, "config.yaml", 2, 8, sid(tokens.active_old), "active"),
            (history.second, "notes.txt", 1, 5, sid(tokens.revoked), "revoked"),
            (history.side, "side.txt", 1, 1, sid(tokens.expired), "expired"),
            (history.side, "shared.txt", 2, 6, sid(tokens.expired), "expired"),
            (history.merge, "shared.txt", 3, 7, sid(tokens.active_merge), "active"),
        ]
    )
    in_files = sorted(
        (Path(f["path"]).name, f["line"], f["status"]) for f in data["findings"] if not f["commit"]
    )
    assert in_files == [
        ("notes.txt", 1, "revoked"),
        ("shared.txt", 2, "expired"),
        ("shared.txt", 3, "active"),
        ("side.txt", 1, "expired"),
    ]
    assert_no_token_text(result, tokens)


def test_git_revoke_revokes_a_token_found_only_in_history(
    run: Run, history: History, tokens: Tokens, db_url: str
) -> None:
    plain = run("scan", str(history.repo), "--json")
    assert sid(tokens.active_old) not in plain.stdout, "not in any file of the working tree"
    result = run("scan", "--git", "--revoke", str(history.repo))
    assert result.exit_code == 1
    assert (
        f"{history.first[:12]}:config.yaml:2:8: kh_{sid(tokens.active_old)}_… (active, revoked now)"
        in result.stdout
    )
    assert secret_status(db_url, tokens.active_old) == "revoked"
    assert secret_status(db_url, tokens.active_merge) == "revoked"
    assert secret_status(db_url, tokens.active) == "active", "never committed: left alone"
    assert secret_status(db_url, tokens.innocent) == "active"
    assert_no_token_text(result, tokens)
    assert run("scan", "--git", str(history.repo)).exit_code == 0


def test_a_repository_without_commits_has_no_history_to_report(
    run: Run, tmp_path: Path, tokens: Tokens
) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    git(repo, "init", "-q")
    result = run("scan", "--git", str(repo))
    assert result.exit_code == 0, result.output
