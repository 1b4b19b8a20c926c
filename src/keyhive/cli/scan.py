"""``keyhive scan``: find leaked keyhive tokens in files and git history, and revoke them.

Tokens are found by their format and checksum (:mod:`keyhive.core.leaks`), then looked
up through the facade: only a token that matches its secret's stored hash counts as
that secret's. Output names each token by its prefix and public id, never more.
Exit 0: nothing active found; 1: an active token was found (revoked or not; also when
the database cannot be read); 2: bad arguments, or a path or repository that cannot
be scanned.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import click

from keyhive.core.leaks import Leak, LeakCheck, redact

from . import output
from ._app import Runtime, json_option, pass_runtime
from ._leak_sources import Finding, SourceError, Warn, scan_history, scan_path

REASON: Final = "leaked"
UNCHECKED: Final = "unchecked"


class ScanError(click.ClickException):
    """A path or repository that cannot be scanned: exit 2, apart from "active token found"."""

    exit_code = 2


@click.command("scan")
@click.argument(
    "paths",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, path_type=Path),
    metavar="PATH...",
)
@click.option(
    "--git", "history", is_flag=True, help="Also scan every commit of each git repository."
)
@click.option("--revoke", is_flag=True, help="Revoke the active tokens found (reason: leaked).")
@click.option(
    "--offline",
    is_flag=True,
    help="Do not open the database (pre-commit hooks): every token found counts as active.",
)
@json_option
@pass_runtime
def scan(
    runtime: Runtime,
    paths: tuple[Path, ...],
    history: bool,
    revoke: bool,
    offline: bool,
    as_json: bool,
) -> None:
    """Find keyhive tokens in files (and with --git in git history) without printing them.

    Each token with a valid checksum is reported with where it is, its secret id and
    its status: active, revoked, expired or unknown. Exits 1 when an active token was
    found (even once --revoke revoked it), else 0.
    """
    if revoke and offline:
        raise click.UsageError("--revoke needs the database; leave out --offline")
    warnings: list[str] = []

    def warn(text: str) -> None:
        warnings.append(text)
        output.message(f"warning: {redact(text)}", stderr=True)

    findings = _collect(paths, history, warn)
    tokens = list(dict.fromkeys(f.match.token.text for f in findings))
    if offline:
        checks: dict[str, LeakCheck | None] = dict.fromkeys(tokens)
    else:
        try:
            hive = runtime.hive()
        except click.ClickException as exc:
            raise click.ClickException(f"{exc.message} (or scan with --offline)") from None
        if revoke:
            done = hive.revoke_leaked([Leak(t, REASON) for t in tokens], actor=runtime.actor)
        else:
            done = hive.check_leaks(tokens)
        checks = dict(zip(tokens, done, strict=True))
    rows = [_row(f, checks[f.match.token.text]) for f in findings]
    if as_json:
        output.emit_json({"findings": rows, "summary": _summary(rows, warnings)})
    else:
        _print(rows, warnings)
    if any(row["status"] in ("active", UNCHECKED) for row in rows):
        raise click.exceptions.Exit(1)


def _collect(paths: Sequence[Path], history: bool, warn: Warn) -> list[Finding]:
    findings: list[Finding] = []
    try:
        for path in paths:
            findings.extend(scan_path(path, warn))
            if history:
                findings.extend(scan_history(path if path.is_dir() else path.parent))
    except SourceError as exc:
        raise ScanError(str(exc)) from None
    # A path given twice, or a directory inside another, would report the same place again.
    unique = {(f.commit, f.path, f.line, f.column, f.match.token.text): f for f in findings}
    return list(unique.values())


def _row(finding: Finding, check: LeakCheck | None) -> dict[str, Any]:
    token = finding.match.token
    secret = check.secret if check is not None else None
    return {
        "path": redact(finding.path),
        "line": finding.line,
        "column": finding.column,
        "commit": finding.commit,
        "prefix": token.prefix,
        "secret_id": token.secret_id,
        "client_id": secret.client_id if secret is not None else None,
        "status": check.status.value if check is not None else UNCHECKED,
        "revoked": bool(check and check.revoked),
    }


def _location(row: dict[str, Any]) -> str:
    place = f"{row['path']}:{row['line']}:{row['column']}"
    return f"{row['commit'][:12]}:{place}" if row["commit"] else place


def _summary(rows: list[dict[str, Any]], warnings: list[str]) -> dict[str, Any]:
    secrets = {row["secret_id"]: row for row in rows}
    statuses = Counter(row["status"] for row in secrets.values())
    return {
        "found": len(rows),
        "secrets": len(secrets),
        "statuses": dict(sorted(statuses.items())),
        "revoked_now": sum(1 for row in secrets.values() if row["revoked"]),
        "unreadable": len(warnings),
    }


def _print(rows: list[dict[str, Any]], warnings: list[str]) -> None:
    for row in rows:
        status = row["status"] + (", revoked now" if row["revoked"] else "")
        output.message(f"{_location(row)}: {row['prefix']}_{row['secret_id']}_… ({status})")
    summary = _summary(rows, warnings)
    if not rows:
        output.message("No keyhive tokens found.", stderr=True)
        return
    counts = ", ".join(f"{n} {status}" for status, n in summary["statuses"].items())
    line = f"Found {summary['found']} token(s) of {summary['secrets']} secret(s): {counts}."
    if summary["revoked_now"]:
        line += f" Revoked {summary['revoked_now']} now (reason: {REASON})."
    output.message(line, stderr=True)
