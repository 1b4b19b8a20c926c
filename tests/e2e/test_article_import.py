"""The article's records, imported by the CLI, verify through all three faces.

The JSON Lines file is built from the records the article's Node code made
(tests/vectors/seed_scrypt.json); each pair must then verify through
`keyhive verify --client-id --secret`, through POST /v1/verify and through GET /v1/auth
with HTTP Basic, and a wrong secret must fail all three.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from keyhive import KeyHive, Settings
from keyhive.cli import main
from keyhive.server import create_app
from tests.conftest import load_vectors

RECORDS: list[dict[str, Any]] = load_vectors("seed_scrypt.json")


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_imported_article_secrets_verify_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'keyhive.db'}"
    monkeypatch.setenv("KEYHIVE_HASHING_PROFILE", "cheapest")
    runner = CliRunner()
    init = runner.invoke(main, ["--db", url, "init", "--json"])
    assert init.exit_code == 0, init.output
    admin = json.loads(init.stdout)["admin_token"]
    records = tmp_path / "records.jsonl"
    records.write_text(
        "".join(
            json.dumps(
                {"client_id": r["client_id"], "stored": r["stored"], "scopes": ["users:read"]}
            )
            + "\n"
            for r in RECORDS
        )
    )
    imported = runner.invoke(main, ["--db", url, "import", "--format", "seed", str(records)])
    assert imported.exit_code == 0, imported.output

    hive = KeyHive(url, settings=Settings(hashing_profile="cheapest"))
    transport = httpx.ASGITransport(app=create_app(hive))
    async with httpx.AsyncClient(transport=transport, base_url="http://keyhive.test") as http:
        for record in RECORDS:
            cid, secret = record["client_id"], record["secret"]
            for presented, ok in ((secret + "x", False), (secret, True)):
                cli = runner.invoke(
                    main, ["--db", url, "verify", "--client-id", cid, "--secret", presented]
                )
                assert cli.exit_code == (0 if ok else 1), cli.output
                verified = await http.post(
                    "/v1/verify",
                    json={"client_id": cid, "secret": presented, "scopes": ["users:read"]},
                    headers={"Authorization": f"Bearer {admin}"},
                )
                assert verified.status_code == 200
                assert verified.json()["valid"] is ok
                assert verified.json()["code"] == ("VALID" if ok else "NOT_FOUND")
                gate = await http.get(
                    "/v1/auth",
                    params={"scope": "users:read"},
                    headers={"Authorization": basic(cid, presented)},
                )
                assert gate.status_code == (200 if ok else 401)
                if ok:
                    assert gate.headers["x-keyhive-client-id"] == cid
    hive.close()
