"""``keyhive import``: bring in secrets hashed by the article's Node code, all or nothing.

The file's JSON shape is checked here; the library checks each record's content and
writes the whole file in one transaction (:meth:`KeyHive.import_secrets`), so a bad
line or a failed write leaves nothing of the file behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

import click

from keyhive.core.echo import excerpt
from keyhive.core.errors import BadRecord, KeyhiveError
from keyhive.core.model import SeedImport
from keyhive.service.hive import KeyHive

from . import output
from ._app import Runtime, json_option, pass_runtime

_FIELDS = ("client_id", "stored", "name", "scopes")


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
        raise BadLine(line, f"unknown field {excerpt(unknown[0])} (expected {', '.join(_FIELDS)})")
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


def read_seed(stream: Iterable[bytes]) -> list[SeedRecord]:
    """Parse JSON Lines; blank lines are skipped, any other bad line stops everything.

    Lines are read as bytes and decoded one by one, so a file that is not UTF-8, or a
    line nested too deep for the JSON reader, is reported by its line number too.
    """
    records = []
    for number, raw in enumerate(stream, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadLine(number, "not UTF-8 text") from None
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except RecursionError:
            raise BadLine(number, "nested too deep") from None
        except ValueError:
            raise BadLine(number, "not valid JSON") from None
        records.append(_record(number, data))
    return records


@click.command("import")
@click.option(
    "--format",
    "format_",
    type=click.Choice(["seed"]),
    default="seed",
    show_default=True,
    help="seed: JSON Lines {client_id, stored, name?, scopes?} from the article's code.",
)
@click.argument("file", type=click.File("rb"))
@json_option
@pass_runtime
def import_(runtime: Runtime, format_: str, file: IO[bytes], as_json: bool) -> None:
    """Import secrets hashed by the article's Node code from FILE ('-' for stdin).

    Each line is {"client_id", "stored", "name"?, "scopes"?} where stored is
    <128 hex>.<16 hex salt>. Missing clients are created. The whole file is checked
    first: a bad line is reported by number and nothing is imported. Imported secrets
    are verified as client_id + secret (`keyhive verify --client-id ID --secret S`).
    """
    records = read_seed(file)
    hive = runtime.hive()
    new_clients = {r.client_id for r in records if not _exists(hive, r.client_id)}
    batch = [SeedImport(r.client_id, r.stored, r.name, r.scopes) for r in records]
    try:
        secrets = hive.import_secrets(batch, actor=runtime.actor)
    except BadRecord as exc:
        raise BadLine(records[exc.index].line, exc.reason) from None
    except KeyhiveError as exc:
        raise click.ClickException(f"{exc}; nothing was imported") from None
    imported = [
        {"line": r.line, "client_id": r.client_id, "secret_id": secret.secret_id}
        for r, secret in zip(records, secrets, strict=True)
    ]
    if as_json:
        output.emit_json(
            {"imported": len(imported), "clients_created": len(new_clients), "secrets": imported}
        )
    else:
        output.message(f"Imported {len(imported)} secrets ({len(new_clients)} new clients).")


def _exists(hive: KeyHive, client_id: str) -> bool:
    try:
        hive.get_client(client_id)
    except KeyhiveError:  # not found, or not even a valid id (the import will say which)
        return False
    return True
