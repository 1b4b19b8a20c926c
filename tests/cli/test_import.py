"""``keyhive import --format seed``: the article's hashes keep working; bad files import nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from keyhive.core.errors import StorageUnavailable
from keyhive.storage.sql import _SqlTransaction

from ..conftest import load_vectors
from .conftest import Run, code_of, out_json

VECTORS: list[dict[str, str]] = load_vectors("seed_scrypt.json")
STORED = VECTORS[0]["stored"]


def _lines(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _seed_file(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    path = tmp_path / "seed.jsonl"
    path.write_text(_lines(records))
    return path


def _clients(run: Run) -> set[str]:
    return {c["client_id"] for c in out_json(run("client", "list", "--json"))}


@pytest.mark.slow
def test_vectors_import_and_verify(run: Run, admin: object, tmp_path: Path) -> None:
    seed = _seed_file(
        tmp_path, [{"client_id": v["client_id"], "stored": v["stored"]} for v in VECTORS]
    )
    result = run("import", "--format", "seed", str(seed))
    assert result.exit_code == 0, result.output
    assert f"Imported {len(VECTORS)} secrets" in result.stdout
    for vector in VECTORS:
        ok = run("verify", "--client-id", vector["client_id"], "--secret", vector["secret"])
        assert ok.exit_code == 0, (vector["client_id"], ok.output)
    wrong = run("verify", "--client-id", VECTORS[0]["client_id"], "--secret", VECTORS[1]["secret"])
    assert wrong.exit_code == 1
    assert wrong.stdout == "NOT_FOUND\n"


def test_json_output_names_and_scopes(run: Run, admin: object) -> None:
    records: list[dict[str, Any]] = [
        {"client_id": "partner-1", "stored": STORED, "name": "Partner", "scopes": ["articles:*"]},
        {"client_id": "partner-1", "stored": VECTORS[1]["stored"]},
    ]
    data = out_json(run("import", "--json", "-", input=_lines(records)))
    assert data["imported"] == 2
    assert data["clients_created"] == 1
    assert [s["line"] for s in data["secrets"]] == [1, 2]
    shown = out_json(run("client", "show", "partner-1", "--json"))
    assert shown["name"] == "Partner"
    by_id = {s["secret_id"]: s for s in shown["secrets"]}
    first = by_id[data["secrets"][0]["secret_id"]]
    assert first["scopes"] == ["articles:*"]
    assert first["name"] == "Partner"
    assert first["prefix"] is None


def test_existing_client_is_reused(run: Run, admin: object) -> None:
    created = out_json(run("client", "create", "--name", "already here", "--json"))
    line = {"client_id": created["client_id"], "stored": STORED, "name": "ignored for client"}
    data = out_json(run("import", "--json", "-", input=_lines([line])))
    assert data["clients_created"] == 0
    shown = out_json(run("client", "show", created["client_id"], "--json"))
    assert shown["name"] == "already here"
    assert len(shown["secrets"]) == 1


def test_blank_lines_are_skipped(run: Run, admin: object) -> None:
    text = "\n" + json.dumps({"client_id": "c1", "stored": STORED}) + "\n\n"
    assert out_json(run("import", "--json", "-", input=text))["imported"] == 1


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({"stored": STORED}), "client_id must be a string"),
        (json.dumps({"client_id": "c9"}), "stored must be a string"),
        (json.dumps({"client_id": "c9", "stored": "abc.def"}), "stored must be the article's"),
        (json.dumps({"client_id": "c9", "stored": STORED, "secret": "x"}), "unknown field"),
        (json.dumps({"client_id": "c9", "stored": STORED, "scopes": "a:b"}), "list of strings"),
        (json.dumps({"client_id": "c9", "stored": STORED, "scopes": ["bad"]}), "invalid scope"),
        (json.dumps({"client_id": "c9", "stored": STORED, "name": 7}), "name must be a string"),
        (json.dumps({"client_id": "", "stored": STORED}), "client_id must not be empty"),
    ],
)
def test_a_bad_line_imports_nothing(run: Run, admin: object, bad: str, reason: str) -> None:
    good = json.dumps({"client_id": "c1", "stored": STORED})
    before = _clients(run)
    result = run("import", "-", input="\n".join([good, good, bad, good]) + "\n")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: line 3: ")
    assert reason in result.stderr
    assert "nothing was imported" in result.stderr
    assert _clients(run) == before
    assert out_json(run("audit", "--json"))[-1]["action"] == "secret.issue"  # init's last


_GOOD_START = b'{"client_id": "c9", "stored": "' + STORED.encode() + b'"'


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"\xff\xfe not UTF-8", "not UTF-8 text"),
        (b'{"client_id": "caf\xe9", "stored": "' + STORED.encode() + b'"}', "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deep"),
        (b'{"client_id": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested too deep"),
        (b'{"client_id": "\\ud800", "stored": "' + STORED.encode() + b'"}', "Unicode"),
        (_GOOD_START + b', "\\ud800": 1}', "field"),
        (_GOOD_START + b', "name": "\\udfff"}', "name"),
        (_GOOD_START + b', "scopes": ["\\ud800"]}', "scope"),
        (b'{"client_id": "c9", "stored": "\\u0000"}', "stored must be"),
        (b'"just a string"', "expected a JSON object"),
        (b"1" * 5000, "not valid JSON"),
    ],
    ids=lambda v: v[:24] if isinstance(v, bytes) else v,
)
def test_every_malformed_line_is_reported_by_number(
    run: Run, admin: object, bad: bytes, reason: str
) -> None:
    good = json.dumps({"client_id": "c1", "stored": STORED}).encode()
    result = run("import", "-", input=b"\n".join([good, bad, good]) + b"\n")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: line 2: "), result.stderr
    assert reason in result.stderr
    assert "unexpected" not in result.stderr
    assert _clients(run) == {out_json(run("client", "list", "--json"))[0]["client_id"]}


def test_missing_file_is_a_usage_error(run: Run, admin: object, tmp_path: Path) -> None:
    result = run("import", str(tmp_path / "absent.jsonl"))
    assert result.exit_code == 2


def test_unknown_format_is_a_usage_error(run: Run, admin: object) -> None:
    assert run("import", "--format", "csv", "-", input="").exit_code == 2


def test_a_write_failing_part_way_leaves_nothing(
    run: Run, admin: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is written in one transaction: a failure at line 3 rolls back lines 1-2."""
    real = _SqlTransaction.insert_secret
    calls = {"n": 0}

    def flaky(self: _SqlTransaction, stored: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise StorageUnavailable("database unavailable: OperationalError")
        real(self, stored)

    monkeypatch.setattr(_SqlTransaction, "insert_secret", flaky)
    records: list[dict[str, Any]] = [
        {"client_id": v["client_id"], "stored": v["stored"], "scopes": ["a:b"]} for v in VECTORS[:4]
    ]
    audit_before = out_json(run("audit", "--json"))
    result = run("import", "-", input=_lines(records))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: database unavailable")
    assert "nothing was imported" in result.stderr
    monkeypatch.setattr(_SqlTransaction, "insert_secret", real)
    assert out_json(run("audit", "--json")) == audit_before
    for record in records:
        assert run("client", "show", record["client_id"]).exit_code == 1  # never created
    for vector in VECTORS[:2]:
        args = ("verify", "--client-id", vector["client_id"], "--secret", vector["secret"])
        assert code_of(run(*args, "--json")) == "NOT_FOUND"
