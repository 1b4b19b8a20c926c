"""Undeclared methods answer 405 with an Allow header listing exactly the documented ones."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from .helpers import assert_problem

pytestmark = pytest.mark.anyio


def _documented(app: FastAPI, template: str) -> set[str]:
    return {m.upper() for m in app.openapi()["paths"][template]}


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("DELETE", "/v1/clients", "/v1/clients"),
        ("OPTIONS", "/v1/clients", "/v1/clients"),
        ("PUT", "/v1/clients/abc", "/v1/clients/{client_id}"),
        ("PATCH", "/v1/clients/a/b/secrets", "/v1/clients/{client_id}/secrets"),
        ("GET", "/v1/clients/a/b/disable", "/v1/clients/{client_id}/disable"),
        ("DELETE", "/v1/secrets/AAAAAAAAAAAAAAAA", "/v1/secrets/{secret_id}"),
        ("GET", "/v1/secrets/AAAAAAAAAAAAAAAA/revoke", "/v1/secrets/{secret_id}/revoke"),
        ("POST", "/v1/audit", "/v1/audit"),
        ("POST", "/healthz", "/healthz"),
        ("DELETE", "/v1/verify", "/v1/verify"),
        ("TRACE", "/v1/auth", "/v1/auth"),
    ],
)
async def test_405_names_the_documented_methods(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    method: str,
    path: str,
    template: str,
) -> None:
    answer = await client.request(method, path, headers=admin)
    assert_problem(answer, 405)
    allowed = {m.strip() for m in answer.headers["allow"].split(",")}
    assert allowed - {"HEAD"} == _documented(app, template) - {"HEAD"}


async def test_declared_methods_still_reach_their_routes(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert (await client.get("/v1/clients", headers=admin)).status_code == 200
    assert (await client.options("/v1/auth", headers=admin)).status_code == 200
    assert (await client.get("/v1/clients/nope/secrets", headers=admin)).status_code == 404
