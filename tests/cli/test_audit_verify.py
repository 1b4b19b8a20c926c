"""``keyhive audit verify`` on real SQLite and PostgreSQL databases: rows edited, deleted or
inserted with raw SQL are named; an untouched chain passes, also after three processes
wrote to it at once; events from before the chain are counted apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from click.testing import CliRunner, Result

from keyhive import KeyHive, Settings
from keyhive.cli import main
from keyhive.storage.sql import SqlStore

MIGRATIONS = Path(__file__).resolve().parents[2] / "src" / "keyhive" / "storage" / "migrations"


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, db_url: str) -> str:
    if request.param == "sqlite":
        return db_url
    return str(request.getfixturevalue("pg_url"))


def verify(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", url, "audit", "verify", *args])


def sql(url: str, statement: str) -> None:
    """Run raw SQL on the database, as someone with write access to it would."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()


@pytest.fixture
def changes(url: str) -> Iterator[str]:
    """A database with 6 audit events (ids 1 to 6)."""
    hive = KeyHive(url, settings=Settings(hashing_profile="cheapest"), watch_changes=False)
    client = hive.create_client("acme", metadata={"plan": "pro", "seats": 3.5})
    issued = [hive.issue_secret(client.client_id, scopes=["a:read"]) for _ in range(3)]
    hive.revoke(issued[0].secret_id, reason="leaked in CI")
    hive.update_client(client.client_id, name="Acme Corp")
    hive.close()
    return url


def test_an_untouched_chain_passes(changes: str) -> None:
    result = verify(changes)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Verified 6 audit event(s), 1 to 6; head: 6:")
    data = json.loads(verify(changes, "--json").stdout)
    assert data["ok"] is True and data["verified"] == 6 and data["broken"] is None
    assert data["head"]["id"] == 6 and len(data["head"]["hash"]) == 64


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor = 'cli:mallory' WHERE id = 3",
        "UPDATE audit_events SET target_id = 'someone-else' WHERE id = 3",
        "UPDATE audit_events SET at = at + interval '1 second' WHERE id = 3",
        "UPDATE audit_events SET after = NULL WHERE id = 3",
    ],
    ids=["actor", "target", "time", "after"],
)
def test_an_edited_event_is_named(changes: str, statement: str) -> None:
    if "interval" in statement and changes.startswith("sqlite"):
        statement = "UPDATE audit_events SET at = datetime(at, '+1 second') WHERE id = 3"
    sql(changes, statement)
    result = verify(changes)
    assert result.exit_code == 1, result.output
    assert "event 3 was changed" in result.stdout
    assert "2 event(s) before it verified." in result.stdout


def test_a_deleted_event_is_named(changes: str) -> None:
    sql(changes, "DELETE FROM audit_events WHERE id = 4")
    result = verify(changes, "--json")
    assert result.exit_code == 1
    broken = json.loads(result.stdout)["broken"]
    assert (broken["kind"], broken["after_id"], broken["event_id"]) == ("removed", 3, 5)
    assert "between event 3 and event 5 was removed" in verify(changes).stdout


def test_an_inserted_event_is_named(changes: str) -> None:
    sql(
        changes,
        "INSERT INTO audit_events (id, at, actor, action, target_type, target_id) "
        "VALUES (7, CURRENT_TIMESTAMP, 'cli:mallory', 'secret.issue', 'secret', 'x')",
    )
    result = verify(changes)
    assert result.exit_code == 1
    assert "event 7 has no hash" in result.stdout and "inserted" in result.stdout


def test_an_event_replaced_with_a_copied_hash_is_named(changes: str) -> None:
    """Delete event 4 and put another in its place, its hash and link copied from the old."""
    engine = sa.create_engine(changes)
    with engine.begin() as conn:
        row = conn.execute(sa.text("SELECT * FROM audit_events WHERE id = 4")).mappings().one()
        conn.execute(sa.text("DELETE FROM audit_events WHERE id = 4"))
        conn.execute(
            sa.text(
                "INSERT INTO audit_events (id, at, actor, action, target_type, target_id, "
                "hash, prev_hash) VALUES (4, :at, 'cli:mallory', 'client.enable', 'client', "
                ":target, :hash, :prev)"
            ),
            {
                "at": row["at"],
                "target": row["target_id"],
                "hash": row["hash"],
                "prev": row["prev_hash"],
            },
        )
    engine.dispose()
    result = verify(changes)
    assert result.exit_code == 1
    assert "event 4 was changed" in result.stdout


def test_an_anchor_catches_a_log_cut_short(changes: str) -> None:
    head = json.loads(verify(changes, "--json").stdout)["head"]
    anchor = f"{head['id']}:{head['hash']}"
    assert verify(changes, "--anchor", anchor).exit_code == 0
    sql(changes, "DELETE FROM audit_events WHERE id >= 5")
    assert verify(changes).exit_code == 0, "a cut-off tail leaves a valid chain behind"
    result = verify(changes, "--anchor", anchor)
    assert result.exit_code == 1
    assert "the anchored event 6 is missing" in result.stdout


def test_a_bad_anchor_is_a_usage_error(changes: str) -> None:
    result = verify(changes, "--anchor", "six:abc")
    assert result.exit_code == 2
    assert "ID:HASH" in result.stderr


# -- concurrent writers ----------------------------------------------------------------------
_WRITER = """
import sys
from keyhive import KeyHive, Settings
hive = KeyHive(sys.argv[1], settings=Settings(hashing_profile="cheapest"), watch_changes=False)
print("ready", flush=True)
sys.stdin.readline()
client = hive.create_client(f"writer {sys.argv[2]}")
for n in range(12):
    issued = hive.issue_secret(client.client_id, name=f"s{n}")
    if n % 3 == 0:
        hive.revoke(issued.secret_id, reason="rotation drill")
hive.close()
"""


def test_three_processes_writing_at_once_leave_an_intact_chain(url: str) -> None:
    KeyHive(url, settings=Settings(hashing_profile="cheapest"), watch_changes=False).close()
    env = {**os.environ, "KEYHIVE_HASHING_PROFILE": "cheapest"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, url, str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(3)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        errors = [proc.communicate(timeout=120)[1] for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    assert [proc.returncode for proc in procs] == [0, 0, 0], errors
    result = verify(url, "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 0, data
    assert data["verified"] == 3 * (1 + 12 + 4)
    actors = {
        e["target_id"]
        for e in json.loads(
            CliRunner().invoke(main, ["--db", url, "audit", "--json", "--limit", "1000"]).stdout
        )
        if e["action"] == "client.create"
    }
    assert len(actors) == 3


# -- a database from before the chain --------------------------------------------------------
def test_events_from_before_the_migration_are_counted_and_the_chain_starts_after(
    url: str,
) -> None:
    store = SqlStore(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")  # the schema before the audit chain
        for n in range(2):
            conn.execute(
                sa.text(
                    "INSERT INTO audit_events (at, actor, action, target_type, target_id) "
                    "VALUES (CURRENT_TIMESTAMP, 'old', 'client.create', 'client', :t)"
                ),
                {"t": f"c{n}"},
            )
    store.close()
    hive = KeyHive(url, settings=Settings(hashing_profile="cheapest"), watch_changes=False)
    hive.create_client("after the upgrade")
    hive.close()
    result = verify(url)
    assert result.exit_code == 0, result.output
    assert (
        "2 event(s) written before the chain began carry no hash; the chain starts at event 3."
        in result.stdout
    )
    assert "Verified 1 audit event(s), 3 to 3" in result.stdout
