"""Secrets hashed by the article's code, imported, verify over HTTP (real scrypt, N=16384)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from keyhive import KeyHive

from ..conftest import load_vectors
from .helpers import basic

pytestmark = pytest.mark.anyio

RECORDS: list[dict[str, Any]] = load_vectors("seed_scrypt.json")


@pytest.fixture
def imported(hive: KeyHive) -> list[dict[str, Any]]:
    for rec in RECORDS:
        hive.create_client(f"seed {rec['client_id'][:6]}", client_id=rec["client_id"])
        hive.import_secret(rec["client_id"], rec["stored"], scopes=["articles:read"])
    return RECORDS


async def test_article_secrets_verify_through_both_endpoints(
    client: httpx.AsyncClient, verifier: dict[str, str], imported: list[dict[str, Any]]
) -> None:
    for rec in imported:
        pair = {"client_id": rec["client_id"], "secret": rec["secret"]}
        r = await client.post(
            "/v1/verify", json={**pair, "scopes": ["articles:read"]}, headers=verifier
        )
        assert (r.status_code, r.json()["code"]) == (200, "VALID"), rec["client_id"]
        assert r.json()["client_id"] == rec["client_id"]
        auth = await client.get(
            "/v1/auth",
            params={"scope": "articles:read"},
            headers=basic(rec["client_id"], rec["secret"]),
        )
        assert auth.status_code == 200
        assert auth.headers["x-keyhive-client-id"] == rec["client_id"]


async def test_wrong_article_secret_fails_both_endpoints(
    client: httpx.AsyncClient, verifier: dict[str, str], imported: list[dict[str, Any]]
) -> None:
    first, second = imported[0], imported[1]
    wrong = {"client_id": first["client_id"], "secret": second["secret"]}
    r = await client.post("/v1/verify", json=wrong, headers=verifier)
    assert (r.status_code, r.json()["valid"], r.json()["code"]) == (200, False, "NOT_FOUND")
    auth = await client.get("/v1/auth", headers=basic(first["client_id"], second["secret"]))
    assert auth.status_code == 401
    assert 'error="invalid_token"' in auth.headers["www-authenticate"]
    flipped = first["secret"][:-2] + ("A=" if first["secret"][-2] != "A" else "B=")
    r = await client.post(
        "/v1/verify", json={"client_id": first["client_id"], "secret": flipped}, headers=verifier
    )
    assert r.json()["code"] == "NOT_FOUND"
