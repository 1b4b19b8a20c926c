"""``keyhive import``: bring in secrets hashed by the article's Node code, all or nothing.

The whole file is checked before anything is written: first its JSON shape, then a
rehearsal of every record against an in-memory hive, which applies the library's own
rules. The facade has no batch import, so each secret is its own transaction; if a
write still fails part-way (the database goes away), the secrets already imported are
revoked and the clients this run created are disabled, so none of the file stays usable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import IO, Any

import click

from keyhive.errors import ClientNotFound, Conflict, KeyhiveError
from keyhive.hive import KeyHive

from . import output
from ._app import Runtime, json_option, pass_runtime

_FIELDS = ("client_id", "stored", "name", "scopes")
_ROLLBACK_REASON = "import rolled back"


@dataclass(frozen=True)
class SeedRecord:
    """One line of a seed file: a client_id and the article's ``<hex>.<salt>`` hash string."""

    line: int
    client_id: str
    stored: str
    name: str | None
    scopes: tuple[str, ...]


class BadLine(click.ClickException):
    """A line of the file is wrong; nothing was imported."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}; nothing was imported")


def _record(line: int, data: Any) -> SeedRecord:
    if not isinstance(data, dict):
        raise BadLine(line, "expected a JSON object")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise BadLine(line, f"unknown field {unknown[0][:40]!r} (expected {', '.join(_FIELDS)})")
    for required in ("client_id", "stored"):
        if not isinstance(data.get(required), str):
            raise BadLine(line, f"{required} must be a string")
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise BadLine(line, "name must be a string")
    scopes = data.get("scopes", [])
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise BadLine(line, "scopes must be a list of strings")
    return SeedRecord(line, data["client_id"], data["stored"], name, tuple(scopes))


def read_seed(stream: IO[str]) -> list[SeedRecord]:
    """Parse JSON Lines; blank lines are skipped, any other bad line stops everything."""
    records = []
    for number, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except ValueError:
            raise BadLine(number, "not valid JSON") from None
        records.append(_record(number, data))
    return records


def _ensure_client(hive: KeyHive, record: SeedRecord, actor: str) -> bool:
    """Create the record's client if it is missing; True when this call created it."""
    try:
        hive.get_client(record.client_id)
        return False
    except ClientNotFound:
        pass
    try:
        hive.create_client(record.name or record.client_id, client_id=record.client_id, actor=actor)
    except Conflict:  # created meanwhile by someone else
        return False
    return True


def rehearse(hive: KeyHive, records: list[SeedRecord]) -> None:
    """Run every record against an empty in-memory hive with the same rules; no writes."""
    with KeyHive(
        "memory://",
        settings=hive.settings.with_overrides(redis_url=""),
        hashing=hive.hashing,
        watch_changes=False,
        invalidator=None,
    ) as dry:
        for record in records:
            try:
                _ensure_client(dry, record, "rehearsal")
                dry.import_secret(
                    record.client_id, record.stored, scopes=record.scopes, name=record.name
                )
            except KeyhiveError as exc:
                raise BadLine(record.line, str(exc)) from None


def _undo(hive: KeyHive, secret_ids: list[str], client_ids: list[str], actor: str) -> str:
    """Make a part-done import unusable; says what was done, or what could not be."""
    try:
        for secret_id in secret_ids:
            hive.revoke(secret_id, reason=_ROLLBACK_REASON, actor=actor)
        for client_id in client_ids:
            hive.disable_client(client_id, actor=actor)
    except Exception as exc:
        return (
            f"rolling back failed too ({type(exc).__name__}): revoke these secrets by hand: "
            + " ".join(secret_ids)
        )
    return (
        f"rolled back: revoked {len(secret_ids)} imported secrets, "
        f"disabled {len(client_ids)} new clients"
    )


@click.command("import")
@click.option(
    "--format",
    "format_",
    type=click.Choice(["seed"]),
    default="seed",
    show_default=True,
    help="seed: JSON Lines {client_id, stored, name?, scopes?} from the article's code.",
)
@click.argument("file", type=click.File("r", encoding="utf-8"))
@json_option
@pass_runtime
def import_(runtime: Runtime, format_: str, file: IO[str], as_json: bool) -> None:
    """Import secrets hashed by the article's Node code from FILE ('-' for stdin).

    Each line is {"client_id", "stored", "name"?, "scopes"?} where stored is
    <128 hex>.<16 hex salt>. Missing clients are created. The whole file is checked
    first: a bad line is reported by number and nothing is imported. Imported secrets
    are verified as client_id + secret (`keyhive verify --client-id ID --secret S`).
    """
    records = read_seed(file)
    hive = runtime.hive()
    rehearse(hive, records)
    imported: list[dict[str, Any]] = []
    created: list[str] = []
    for record in records:
        try:
            if _ensure_client(hive, record, runtime.actor):
                created.append(record.client_id)
            secret = hive.import_secret(
                record.client_id,
                record.stored,
                scopes=record.scopes,
                name=record.name,
                actor=runtime.actor,
            )
        except BaseException as exc:
            done = _undo(hive, [i["secret_id"] for i in imported], created, runtime.actor)
            if not isinstance(exc, Exception):  # Ctrl-C: undo, then stop as asked
                output.message(f"Interrupted at line {record.line}; {done}", stderr=True)
                raise
            reason = str(exc) if isinstance(exc, KeyhiveError) else type(exc).__name__
            raise click.ClickException(f"line {record.line}: {reason}; {done}") from None
        imported.append(
            {"line": record.line, "client_id": record.client_id, "secret_id": secret.secret_id}
        )
    if as_json:
        output.emit_json(
            {"imported": len(imported), "clients_created": len(created), "secrets": imported}
        )
    else:
        output.message(f"Imported {len(imported)} secrets ({len(created)} new clients).")
