"""Moving in without reissuing keys (docs/migrate.md), with the libraries themselves.

djangorestframework-api-key makes its keys with its own ``APIKey.objects.create_key``
(in a subprocess with throwaway Django settings and SQLite, since Django configures
itself once per process); fastapi-keygate with its own ``KeyGate.create_key``. Their
tables are exported with the SQLite queries in docs/migrate.md, imported with ``keyhive
import``, and the keys are presented as each library's clients present them: through
``GET /v1/auth`` and the FastAPI integration.
"""

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient

from keyhive import KeyHive, Settings
from keyhive.cli import cli
from keyhive.integrations._principal import Principal
from keyhive.integrations.fastapi import KeyhiveAuth
from keyhive.server.app import create_app

DOCS = Path(__file__).resolve().parents[2] / "docs" / "migrate.md"

_DRF_SCRIPT = """
import json, sys
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework",
                    "rest_framework_api_key"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1]}},
    USE_TZ=True,
)
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from rest_framework_api_key.models import APIKey
current, current_key = APIKey.objects.create_key(name="partner")
older, older_key = APIKey.objects.create_key(name="older")
# A key from before the library's sha512 hasher: a Django PBKDF2 password hash (few
# iterations, to keep the test quick).
APIKey.objects.filter(pk=older.pk).update(
    hashed_key=PBKDF2PasswordHasher().encode(older_key, "somesalt", iterations=1000)
)
gone, gone_key = APIKey.objects.create_key(name="gone")
gone.revoked = True
gone.save()
print(json.dumps({"current": current_key, "older": older_key, "gone": gone_key}))
"""


def _export(db: Path, marker: str) -> list[dict[str, Any]]:
    """Run the SQLite query that docs/migrate.md shows for ``marker``."""
    found = re.search(rf"```sql\n-- sqlite: {re.escape(marker)}\n(.*?)```", DOCS.read_text(), re.S)
    assert found, f"docs/migrate.md lost its SQLite export for {marker}"
    with sqlite3.connect(db) as conn:
        return [json.loads(row[0]) for row in conn.execute(found.group(1))]


def _import(db_url: str, tmp: Path, fmt: str, rows: list[dict[str, Any]], *args: str) -> Any:
    export = tmp / f"{fmt}.jsonl"
    export.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = CliRunner().invoke(
        cli, ["--db", db_url, "import", "--format", fmt, *args, str(export), "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def keyhive_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'keyhive.db'}"
    KeyHive(url, settings=Settings(hashing_profile="cheapest")).close()  # created, migrated
    return url


def _served(db_url: str) -> tuple[KeyHive, TestClient, TestClient]:
    """A hive on the database, ``GET /v1/auth`` over it and a FastAPI app guarded by it."""
    hive = KeyHive(db_url, settings=Settings(hashing_profile="cheapest"))
    auth = KeyhiveAuth(hive)
    api = FastAPI()

    @api.get("/articles")
    async def articles(who: Annotated[Principal, auth.require("articles:read")]) -> dict[str, Any]:
        return {"client_id": who.client_id, "scopes": list(who.scopes)}

    return hive, TestClient(create_app(hive)), TestClient(api)


def test_keys_made_by_djangorestframework_api_key_keep_working(
    tmp_path: Path, keyhive_db: str
) -> None:
    django_db = tmp_path / "django.sqlite3"
    made = subprocess.run(
        [sys.executable, "-c", _DRF_SCRIPT, str(django_db)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    keys = json.loads(made.stdout)
    rows = _export(django_db, "drf-api-key")
    assert {row["hashed_key"].split("$")[0] for row in rows} == {"sha512", "pbkdf2_sha256"}
    imported = _import(
        keyhive_db, tmp_path, "drf-api-key", rows, "--owner", "acme", "--scope", "articles:read"
    )
    assert imported["imported"] == 3

    hive, gateway, api = _served(keyhive_db)
    try:
        for name in ("current", "older"):
            key = keys[name]
            for headers in (
                {"Authorization": f"Api-Key {key}"},  # how the library's clients send it
                {"X-API-Key": key},
                {"Authorization": f"Bearer {key}"},
            ):
                passed = gateway.get("/v1/auth?scope=articles:read", headers=headers)
                assert passed.status_code == 200, (name, headers, passed.text)
            seen = api.get("/articles", headers={"Authorization": f"Api-Key {key}"})
            assert seen.status_code == 200, seen.text
            assert seen.json()["scopes"] == ["articles:read"]
            prefix = key.split(".")[0]
            stored = hive.store.get_legacy(f"drf:{prefix}")
            assert stored is not None
            assert stored.hash.startswith("$scrypt$"), "re-hashed with keyhive's hasher"
            assert stored.digest is not None, "and given a verification digest"
            assert (
                stored.secret.client_id and hive.get_client(stored.secret.client_id).owner == "acme"
            )
        wrong = keys["current"][:-4] + ("AAAA" if not keys["current"].endswith("AAAA") else "BBBB")
        assert (
            gateway.get("/v1/auth", headers={"Authorization": f"Api-Key {wrong}"}).status_code
            == 401
        )
        assert api.get("/articles", headers={"X-API-Key": wrong}).status_code == 401
        revoked = gateway.get("/v1/auth", headers={"Authorization": f"Api-Key {keys['gone']}"})
        assert revoked.status_code == 401
        assert hive.verify(keys["gone"]).code == "REVOKED"
    finally:
        hive.close()


def test_keys_made_by_fastapi_keygate_keep_working(tmp_path: Path, keyhive_db: str) -> None:
    from keygate import KeyGate

    keygate_db = tmp_path / "keygate.db"
    gate = KeyGate(db_url=f"sqlite:///{keygate_db}")
    reader = gate.create_key("acme", name="prod", per_minute=30, scopes=["read"]).key
    other = gate.create_key("globex", name="ci", per_minute=None, scopes=["*"]).key
    revoked = gate.create_key("acme", name="old")
    gate.revoke(revoked.id)
    rows = _export(keygate_db, "fastapi-keygate")
    imported = _import(keyhive_db, tmp_path, "fastapi-keygate", rows, "--resource", "articles")
    assert imported["imported"] == 3

    hive, gateway, api = _served(keyhive_db)
    try:
        for key in (reader, other):
            for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
                assert (
                    gateway.get("/v1/auth?scope=articles:read", headers=headers).status_code == 200
                )
            assert api.get("/articles", headers={"X-API-Key": key}).status_code == 200
            stored = hive.store.get_legacy(f"keygate:{key.split('_')[1]}")
            assert stored is not None and stored.hash.startswith("$scrypt$")
        metered = gateway.get("/v1/auth", headers={"X-API-Key": reader})
        assert metered.headers["ratelimit-policy"] == '"minute";q=30;w=60'
        client = hive.get_client(
            hive.store.get_legacy(f"keygate:{reader.split('_')[1]}").secret.client_id
        )  # type: ignore[union-attr]
        assert (client.name, client.owner) == ("acme", "acme")
        wrong = reader[:-3] + ("xyz" if not reader.endswith("xyz") else "abc")
        assert gateway.get("/v1/auth", headers={"X-API-Key": wrong}).status_code == 401
        assert api.get("/articles", headers={"X-API-Key": wrong}).status_code == 401
        assert gateway.get("/v1/auth", headers={"X-API-Key": revoked.key}).status_code == 401
    finally:
        hive.close()


def test_an_import_is_all_or_nothing_and_a_prefix_imports_once(
    tmp_path: Path, keyhive_db: str
) -> None:
    row = {"prefix": "AbCd1234", "hashed_key": "sha512$$" + "0" * 128, "name": "x"}
    bad = {"prefix": "ZZZZ9999", "hashed_key": "bcrypt_sha256$$2b$12$abc", "name": "y"}
    export = tmp_path / "mixed.jsonl"
    export.write_text(json.dumps(row) + "\n" + json.dumps(bad) + "\n")
    runner = CliRunner()
    args = ["--db", keyhive_db, "import", "--format", "drf-api-key", str(export)]
    failed = runner.invoke(cli, args)
    assert failed.exit_code == 1 and "line 2" in failed.output and "nothing" in failed.output
    with KeyHive(keyhive_db, settings=Settings(hashing_profile="cheapest")) as hive:
        assert hive.store.get_legacy("drf:AbCd1234") is None
    export.write_text(json.dumps(row) + "\n")
    assert runner.invoke(cli, args).exit_code == 0
    again = runner.invoke(cli, args)
    assert again.exit_code == 1 and "imported already" in again.output
