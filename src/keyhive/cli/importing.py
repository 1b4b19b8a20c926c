"""``keyhive import``: bring in secrets hashed by the article's Node code, or the keys of
djangorestframework-api-key and fastapi-keygate, all or nothing.

The file's JSON shape is checked here; the library checks each record's content and
writes the whole file in one transaction (:meth:`KeyHive.import_secrets`,
:meth:`KeyHive.import_legacy_keys`), so a bad line or a failed write leaves nothing of
the file behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

import click

from keyhive.core.echo import excerpt
from keyhive.core.errors import BadRecord, InvalidInput, KeyhiveError
from keyhive.core.legacy_keys import DRF, KEYGATE, LegacyKey, read_row
from keyhive.core.model import SeedImport
from keyhive.service.hive import KeyHive

from . import output
from ._app import Runtime, json_option, pass_runtime
from ._params import ROLE, scope_option

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


def _lines(stream: Iterable[bytes]) -> list[tuple[int, Any]]:
    """JSON Lines as (line number, value); blank lines are skipped, a bad one stops all.

    Lines are read as bytes and decoded one by one, so a file that is not UTF-8, or a
    line nested too deep for the JSON reader, is reported by its line number too.
    """
    found = []
    for number, raw in enumerate(stream, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadLine(number, "not UTF-8 text") from None
        if not text.strip():
            continue
        try:
            found.append((number, json.loads(text)))
        except RecursionError:
            raise BadLine(number, "nested too deep") from None
        except ValueError:
            raise BadLine(number, "not valid JSON") from None
    return found


def read_seed(stream: Iterable[bytes]) -> list[SeedRecord]:
    """Parse a seed file's JSON Lines."""
    return [_record(number, data) for number, data in _lines(stream)]


def read_legacy(
    stream: Iterable[bytes], format_: str, resource: str
) -> list[tuple[int, LegacyKey]]:
    """Parse exported rows of another library's key table (one JSON object a line)."""
    keys = []
    for number, data in _lines(stream):
        try:
            keys.append((number, read_row(format_, data, resource=resource)))
        except InvalidInput as exc:
            raise BadLine(number, str(exc)) from None
    return keys


@click.command("import")
@click.option(
    "--format",
    "format_",
    type=click.Choice(["seed", DRF, KEYGATE]),
    default="seed",
    show_default=True,
    help="seed: JSON Lines {client_id, stored, name?, scopes?} from the article's code; "
    f"{DRF} / {KEYGATE}: rows of that library's key table (docs/migrate.md).",
)
@click.option("--client", "client_id", help="Put every imported key under this client.")
@click.option("--owner", help="The owner of the clients the import makes (imported keys).")
@scope_option("A scope every imported key gets (repeatable; imported keys).")
@click.option(
    "--role",
    "roles",
    callback=ROLE,
    metavar="ROLE",
    multiple=True,
    help="A role every imported key gets (repeatable; imported keys).",
)
@click.option(
    "--resource",
    default="api",
    show_default=True,
    help=f"{KEYGATE}: its scope 'read' becomes RESOURCE:read.",
)
@click.argument("file", type=click.File("rb"))
@json_option
@pass_runtime
def import_(
    runtime: Runtime,
    format_: str,
    client_id: str | None,
    owner: str | None,
    scopes: tuple[str, ...],
    roles: tuple[str, ...],
    resource: str,
    file: IO[bytes],
    as_json: bool,
) -> None:
    """Import secrets from FILE ('-' for stdin): no key is reissued.

    seed: each line is {"client_id", "stored", "name"?, "scopes"?} where stored is
    <128 hex>.<16 hex salt>; missing clients are created, and the secrets are verified
    as client_id + secret (`keyhive verify --client-id ID --secret S`).

    drf-api-key, fastapi-keygate: each line is a row of the library's key table; the keys
    keep working as they are presented today and are re-hashed on first use.

    The whole file is checked first: a bad line is reported by number and nothing is
    imported.
    """
    if format_ != "seed":
        _import_legacy(runtime, format_, file, client_id, owner, scopes, roles, resource, as_json)
        return
    if client_id or owner or scopes or roles:
        raise click.UsageError("--client, --owner, --scope and --role are for imported keys")
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


def _import_legacy(
    runtime: Runtime,
    format_: str,
    file: IO[bytes],
    client_id: str | None,
    owner: str | None,
    scopes: tuple[str, ...],
    roles: tuple[str, ...],
    resource: str,
    as_json: bool,
) -> None:
    keys = read_legacy(file, format_, resource)
    hive = runtime.hive()
    try:
        secrets = hive.import_legacy_keys(
            [key for _line, key in keys],
            client_id=client_id,
            owner=owner,
            scopes=scopes,
            roles=roles,
            actor=runtime.actor,
        )
    except BadRecord as exc:
        raise BadLine(keys[exc.index][0], exc.reason) from None
    except KeyhiveError as exc:
        raise click.ClickException(f"{exc}; nothing was imported") from None
    imported = [
        {
            "line": line,
            "legacy_id": key.legacy_id,
            "client_id": secret.client_id,
            "secret_id": secret.secret_id,
        }
        for (line, key), secret in zip(keys, secrets, strict=True)
    ]
    if as_json:
        output.emit_json({"imported": len(imported), "secrets": imported})
    else:
        output.message(f"Imported {len(imported)} {format_} keys; they keep working as they are.")
