"""Starlette specifics: optional identity on public routes, wildcards, websockets."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from keyhive import KeyHive
from keyhive.integrations.starlette import KeyhiveMiddleware

from .apps import bearer, starlette_backend_app
from .conftest import Blog


def test_backend_lets_anonymous_callers_reach_public_routes(hive: KeyHive, blog: Blog) -> None:
    with TestClient(starlette_backend_app(hive)) as client:
        anonymous = client.get("/public")
        known = client.get("/public", headers=bearer(blog.reader))
        last = "y" if blog.reader.endswith("x") else "x"  # never the token itself
        forged = client.get("/public", headers=bearer(blog.reader[:-1] + last))
    assert anonymous.json() == {"authenticated": False}
    assert known.json() == {"authenticated": True}
    assert forged.status_code == 401  # a presented credential that fails is never ignored


def test_wildcard_grants_satisfy_requires(hive: KeyHive, blog: Blog) -> None:
    token = hive.issue_secret(blog.client.client_id, scopes=["articles:*"]).token
    with TestClient(starlette_backend_app(hive)) as client:
        assert client.post("/articles", headers=bearer(token)).status_code == 200
        assert client.get("/users", headers=bearer(token)).status_code == 403


def _socket_app(hive: KeyHive) -> KeyhiveMiddleware:
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(ws.scope["state"]["keyhive"].client_id)
        await ws.close()

    return KeyhiveMiddleware(
        Starlette(routes=[WebSocketRoute("/ws", echo)]), hive, scopes=["users:read"]
    )


def test_middleware_guards_websockets(hive: KeyHive, blog: Blog) -> None:
    client = TestClient(_socket_app(hive))
    with client.websocket_connect("/ws", headers=bearer(blog.reader)) as ws:
        assert ws.receive_text() == blog.client.client_id
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws", headers=bearer(blog.writer)) as ws,
    ):
        ws.receive_text()
    assert refused.value.code == 1008
