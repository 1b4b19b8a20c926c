"""No answer repeats a presented credential: the known echoes, and the scan itself.

The autouse scan in conftest.py checks every server test; these tests present tokens
where they do not belong (a scope, an id, a field name, a body that is not JSON) and
check that the scan would have caught an echo.
"""

from __future__ import annotations

import base64
import logging

import httpx
import pytest

from keyhive import KeyHive
from keyhive.core.tokens import make_token

from .helpers import assert_problem
from .leakscan import SCANNER, Scanner

pytestmark = pytest.mark.anyio


def _runs(token: str) -> list[str]:
    secret_part = token.split("_", 2)[2]
    return [secret_part[i : i + 12] for i in range(len(secret_part) - 11)]


def _echoes(text: str, token: str) -> bool:
    return any(run in text for run in _runs(token))


@pytest.fixture
def token(hive: KeyHive) -> str:
    return hive.issue_secret(hive.create_client("c").client_id, scopes=["a:b"]).token


async def test_a_token_given_as_a_scope_is_not_repeated(
    client: httpx.AsyncClient, token: str
) -> None:
    answer = await client.get("/v1/auth", params={"scope": token}, headers={"X-API-Key": token})
    body = assert_problem(answer, 400)
    assert not _echoes(answer.text, token)
    assert "kh_" in str(body["detail"])  # the start is shown, to help


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/secrets/{t}"),
        ("POST", "/v1/secrets/{t}/revoke"),
        ("GET", "/v1/clients/{t}"),
        ("GET", "/v1/clients/{t}/secrets"),
        ("GET", "/v1/audit?target={t}"),
        ("GET", "/v1/clients?after={t}"),
    ],
)
async def test_a_token_given_as_an_id_is_not_repeated(
    client: httpx.AsyncClient, admin: dict[str, str], token: str, method: str, path: str
) -> None:
    answer = await client.request(method, path.format(t=token), headers=admin)
    assert answer.status_code in (200, 404, 422)
    assert not _echoes(answer.text, token)


@pytest.mark.parametrize(
    "body",
    [
        {"token": 5, "scopes": ["{t}"]},
        {"token": "{t}", "scopes": "{t}"},
        {"{t}": 1},
        {"token": "x", "{r}": 1},
        {"token": "{t}", "ip": "{t}"},
        {"client_id": "{t}", "secret": ["{t}"]},
    ],
)
async def test_a_token_in_a_bad_verify_body_is_not_repeated(
    client: httpx.AsyncClient, admin: dict[str, str], token: str, body: dict[str, object]
) -> None:
    raw = str(body).replace("'", '"').replace("{t}", token).replace("{r}", token[25:55])
    answer = await client.post("/v1/verify", content=raw, headers=admin)
    assert answer.status_code in (400, 422), answer.text
    assert not _echoes(answer.text, token)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/clients", '{"name": "x", "{t}": 1}'),
        ("/v1/clients", '{"name": "x", "metadata": "{t}"}'),
        ("/v1/clients", '{"name": ["{t}"]}'),
        ("/v1/clients", "{t}"),
        ("/v1/clients/c/secrets", '{"scopes": ["{t}"], "expires_in": "{t}"}'),
        ("/v1/clients/c/secrets", '{"allowed_ips": ["{t}"], "rate": "{t}"}'),
    ],
)
async def test_a_token_in_a_bad_admin_body_is_not_repeated(
    client: httpx.AsyncClient, admin: dict[str, str], token: str, path: str, body: str
) -> None:
    answer = await client.post(path, content=body.replace("{t}", token), headers=admin)
    assert 400 <= answer.status_code < 500, answer.text
    assert not _echoes(answer.text, token)


async def test_a_token_as_basic_client_id_is_not_repeated(
    client: httpx.AsyncClient, token: str
) -> None:
    pair = base64.b64encode(f"{token}:{token}".encode()).decode()
    answer = await client.get("/v1/auth", headers={"Authorization": f"Basic {pair}"})
    assert answer.status_code == 401
    assert not _echoes(answer.text + str(answer.headers), token)


def test_the_scan_catches_an_echo() -> None:
    """The scan is not blind: an echo in a response or a log line is reported."""
    scanner = Scanner()
    token = make_token().text
    request = httpx.Request("GET", "http://k.test/v1/auth", headers={"X-API-Key": token})
    answer = httpx.Response(400, json={"detail": f"bad: {token[30:45]}"})
    scanner.exchange(set(), request, answer, answer.content)
    issued = make_token().text
    fresh = httpx.Response(201, json={"token": issued})
    scanner.exchange(set(), httpx.Request("POST", "http://k.test/v1/x"), fresh, fresh.content)
    line = {"name": "keyhive", "msg": "seen %s", "args": (issued[-20:],)}
    scanner.record(logging.makeLogRecord(line))
    hits = scanner.take_hits()
    assert len(hits) == 2 and "-> 400" in hits[0] and hits[1].startswith("log")
    assert SCANNER.scanned > 0, "the session scan is installed and sees responses"
