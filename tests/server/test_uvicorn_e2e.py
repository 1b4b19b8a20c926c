"""End to end: a real uvicorn process on a socket, over a SQLite file, stopped cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from keyhive import KeyHive, Settings

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, str, subprocess.Popen[bytes]]]:
    """(base_url, admin_token, database_url, process) of a running `uvicorn --factory`."""
    db_url = f"sqlite:///{tmp_path / 'keyhive.db'}"
    with KeyHive(db_url, settings=Settings(hashing_profile="cheapest")) as hive:
        issued = hive.bootstrap_admin()
    assert issued is not None
    port = _free_port()
    env = {
        **os.environ,
        "KEYHIVE_DATABASE_URL": db_url,
        "KEYHIVE_HASHING_PROFILE": "cheapest",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "keyhive.server.app:create_app_from_env",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
    ]
    log = (tmp_path / "uvicorn.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                pytest.fail((tmp_path / "uvicorn.log").read_text())
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("uvicorn did not start in 20 s")
            time.sleep(0.1)
        yield base, issued.token, db_url, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        log.close()


def test_a_first_session_over_a_real_socket(
    served: tuple[str, str, str, subprocess.Popen[bytes]],
) -> None:
    base, admin_token, db_url, process = served
    admin = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/readyz").json() == {"status": "ready"}
        made = http.post("/v1/clients", json={"name": "reporting"}, headers=admin)
        assert made.status_code == 201
        client_id = made.json()["client_id"]
        issued = http.post(
            f"/v1/clients/{client_id}/secrets", json={"scopes": ["articles:read"]}, headers=admin
        )
        assert issued.status_code == 201
        token, secret_id = issued.json()["token"], issued.json()["secret_id"]
        verdict = http.post(
            "/v1/verify", json={"token": token, "scopes": ["articles:read"]}, headers=admin
        )
        assert verdict.status_code == 200
        assert (verdict.json()["valid"], verdict.json()["client_id"]) == (True, client_id)
        gate = http.get("/v1/auth", headers={"X-API-Key": token})
        assert gate.headers["x-keyhive-secret-id"] == secret_id
        assert (
            http.post("/v1/verify", json={"token": token + "x"}, headers=admin).json()["code"]
            == "NOT_FOUND"
        )

    process.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert process.wait(15) in (0, -signal.SIGTERM)
    log = (Path(db_url.removeprefix("sqlite:///")).parent / "uvicorn.log").read_text()
    assert "Application shutdown complete" in log
    assert admin_token not in log and token not in log
    # Shutdown closed the hive, so the batched usage counts reached the database.
    with KeyHive(db_url, settings=Settings(hashing_profile="cheapest")) as hive:
        assert hive.get_secret(secret_id).usage_count == 2
