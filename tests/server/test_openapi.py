"""The OpenAPI document lists every route (hot ones too), the auth schemes and problems."""

from __future__ import annotations

import httpx
import pytest

from .helpers import assert_problem

pytestmark = pytest.mark.anyio


async def test_document_lists_every_endpoint(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    expected = {
        "/v1/verify": {"post"},
        # Gateways forward the original request's method.
        "/v1/auth": {"get", "head", "post", "put", "patch", "delete", "options"},
        "/v1/clients": {"get", "post"},
        "/v1/clients/{client_id}": {"get", "patch"},
        "/v1/clients/{client_id}/disable": {"post"},
        "/v1/clients/{client_id}/enable": {"post"},
        "/v1/clients/{client_id}/secrets": {"get", "post"},
        "/v1/secrets/{secret_id}": {"get", "patch"},
        "/v1/secrets/{secret_id}/revoke": {"post"},
        "/v1/secrets/{secret_id}/rotate": {"post"},
        "/v1/audit": {"get"},
        "/v1/audit/head": {"get"},
        "/v1/leaks": {"post"},
        "/v1/portal/sessions": {"post"},
        "/v1/secrets/{secret_id}/usage": {"get"},
        "/v1/clients/{client_id}/usage": {"get"},
        "/v1/webhooks": {"get", "post"},
        "/v1/webhooks/{webhook_id}": {"get", "delete"},
        "/v1/webhooks/{webhook_id}/deliveries": {"get"},
        "/v1/webhooks/{webhook_id}/test": {"post"},
        "/v1/owners/{owner}": {"get", "put"},
        "/v1/roles": {"get", "post"},
        "/v1/roles/{name}": {"get", "patch", "delete"},
        "/healthz": {"get"},
        "/readyz": {"get"},
        "/metrics": {"get"},
        "/oauth/token": {"post"},
        "/oauth/introspect": {"post"},
        "/oauth/revoke": {"post"},
        "/.well-known/jwks.json": {"get"},
        "/.well-known/oauth-authorization-server": {"get"},
    }
    assert {path: set(ops) for path, ops in paths.items()} == expected


async def test_security_schemes_drive_the_authorize_button(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "Authorization: Bearer <token>",
    }
    assert schemes["apiKeyHeader"]["in"] == "header"
    assert schemes["apiKeyHeader"]["name"] == "X-API-Key"
    assert schemes["basicAuth"]["scheme"] == "basic"
    for path, op in [("/v1/verify", "post"), ("/v1/clients", "post"), ("/v1/audit", "get")]:
        names = {name for req in doc["paths"][path][op]["security"] for name in req}
        assert names == {"bearerToken", "apiKeyHeader", "basicAuth"}, path
    assert "security" not in doc["paths"]["/healthz"]["get"]


async def test_errors_are_documented_as_problems(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert "Problem" in doc["components"]["schemas"]
    responses = doc["paths"]["/v1/clients"]["post"]["responses"]
    assert set(responses) >= {"201", "400", "401", "403", "409", "413", "422"}
    assert list(responses["422"]["content"]) == ["application/problem+json"]
    verify = doc["paths"]["/v1/verify"]["post"]
    body = verify["requestBody"]["content"]["application/json"]["schema"]
    assert {ref["$ref"].rsplit("/", 1)[1] for ref in body["anyOf"]} == {
        "TokenVerifyRequest",
        "PairVerifyRequest",
    }


async def test_docs_page_and_unknown_routes(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert_problem(await client.get("/v1/nothing-here"), 404)
    wrong_method = await client.delete("/v1/verify")
    assert_problem(wrong_method, 405)
