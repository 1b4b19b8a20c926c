"""The nginx configuration in docs/gateway.md, run for real: nginx in the foreground,
``keyhive serve`` as a process, and an upstream that echoes what nginx forwarded.

Skipped only when no nginx binary exists (CI installs the ``nginx`` package).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import http_sf
import httpx
import pytest

from keyhive import KeyHive, Settings

from .servers import free_port

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[2] / "docs" / "gateway.md"
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
)
if NGINX is None:
    if os.environ.get("CI") == "true":  # CI installs nginx: its absence there is a failure
        raise RuntimeError("nginx is not installed, but CI must run the gateway test")
    pytest.skip("nginx is not installed (apt-get install nginx)", allow_module_level=True)


class Echo(BaseHTTPRequestHandler):
    """The protected API: answers with the identity headers nginx forwarded."""

    def _answer(self) -> None:
        body = json.dumps(
            {
                "path": self.path,
                "client_id": self.headers.get("X-Keyhive-Client-Id"),
                "secret_id": self.headers.get("X-Keyhive-Secret-Id"),
                "scopes": self.headers.get("X-Keyhive-Scopes"),
                "authorization": self.headers.get("Authorization"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass(frozen=True)
class Gateway:
    url: str
    client_id: str
    writer: str
    writer_id: str
    reader: str
    reader_id: str
    db_url: str


def _documented_config() -> str:
    """The ```nginx block of docs/gateway.md."""
    found = re.search(r"```nginx\n(.*?)```", DOCS.read_text(), re.S)
    assert found, "docs/gateway.md lost its nginx block"
    return found.group(1)


def _nginx_conf(tmp: Path, port: int, keyhive_port: int, api_port: int) -> str:
    server = (
        _documented_config()
        .replace("127.0.0.1:8080", f"127.0.0.1:{keyhive_port}")
        .replace("127.0.0.1:8000", f"127.0.0.1:{api_port}")
        .replace("listen 80;", f"listen 127.0.0.1:{port};")
    )
    temp = "\n".join(
        f"    {kind}_temp_path {tmp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}worker_processes 1;\npid {tmp / 'nginx.pid'};\n"
        f"error_log {tmp / 'error.log'} warn;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n    access_log off;\n{temp}\n{server}\n}}\n"
    )


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited:\n{log.read_text()}")
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _keyhive_command() -> list[str]:
    script = Path(sys.executable).with_name("keyhive")
    return [str(script)] if script.exists() else [sys.executable, "-m", "keyhive.cli"]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("nginx")
    db_url = f"sqlite:///{tmp / 'keyhive.db'}"
    with KeyHive(db_url, settings=Settings(hashing_profile="cheapest")) as hive:
        blog = hive.create_client("blog")
        writer = hive.issue_secret(blog.client_id, scopes=["articles:create", "articles:update"])
        reader = hive.issue_secret(blog.client_id, scopes=["users:read"])

    api = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=api.serve_forever, daemon=True).start()

    keyhive_port, port = free_port(), free_port()
    env = {**os.environ, "KEYHIVE_HASHING_PROFILE": "cheapest"}
    keyhive_log = tmp / "keyhive.log"
    command = [*_keyhive_command(), "--db", db_url, "serve", "--port", str(keyhive_port)]
    with keyhive_log.open("wb") as out:
        keyhive = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    conf = tmp / "nginx.conf"
    conf.write_text(_nginx_conf(tmp, port, keyhive_port, api.server_address[1]))
    nginx_log = tmp / "nginx.out"
    with nginx_log.open("wb") as out:
        nginx = subprocess.Popen(
            [
                NGINX,
                "-p",
                str(tmp),
                "-e",
                str(tmp / "error.log"),
                "-c",
                str(conf),
                "-g",
                "daemon off;",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait(f"http://127.0.0.1:{keyhive_port}/healthz", keyhive, keyhive_log)
        _wait(f"http://127.0.0.1:{port}/", nginx, nginx_log)
        yield Gateway(
            f"http://127.0.0.1:{port}",
            blog.client_id,
            writer.token,
            writer.secret_id,
            reader.token,
            reader.secret_id,
            db_url,
        )
    finally:
        _stop(nginx)
        _stop(keyhive)
        api.shutdown()


def test_valid_secret_reaches_the_api_with_its_client_id(gateway: Gateway) -> None:
    r = httpx.post(f"{gateway.url}/articles", headers={"Authorization": f"Bearer {gateway.writer}"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "path": "/articles",
        "client_id": gateway.client_id,
        "secret_id": gateway.writer_id,
        "scopes": "articles:create articles:update",
        "authorization": None,  # the secret stops at the gateway
    }


def test_x_api_key_and_basic_work_too(gateway: Gateway) -> None:
    by_key = httpx.get(f"{gateway.url}/users", headers={"X-API-Key": gateway.reader})
    by_basic = httpx.get(f"{gateway.url}/users", auth=(gateway.client_id, gateway.reader))
    assert by_key.status_code == by_basic.status_code == 200
    assert by_key.json()["client_id"] == by_basic.json()["client_id"] == gateway.client_id


def test_no_credential_is_401_with_a_challenge(gateway: Gateway) -> None:
    r = httpx.post(f"{gateway.url}/articles")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="keyhive"'


def test_wrong_credential_is_401_invalid_token(gateway: Gateway) -> None:
    forged = gateway.writer[:-8] + "AAAAAAAA"
    r = httpx.post(f"{gateway.url}/articles", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


def test_missing_scope_is_403(gateway: Gateway) -> None:
    r = httpx.post(f"{gateway.url}/articles", headers={"Authorization": f"Bearer {gateway.reader}"})
    assert r.status_code == 403


def test_a_forged_identity_header_is_replaced(gateway: Gateway) -> None:
    headers = {"Authorization": f"Bearer {gateway.writer}", "X-Keyhive-Client-Id": "mallory"}
    r = httpx.post(f"{gateway.url}/articles", headers=headers)
    assert r.json()["client_id"] == gateway.client_id
    refused = httpx.post(f"{gateway.url}/articles", headers={"X-Keyhive-Client-Id": "mallory"})
    assert refused.status_code == 401


def test_rate_limit_headers_reach_the_client(gateway: Gateway) -> None:
    with KeyHive(gateway.db_url, settings=Settings(hashing_profile="cheapest")) as hive:
        metered = hive.issue_secret(
            gateway.client_id,
            scopes=["articles:create"],
            rate=["5/minute", "day=100/day"],
        )
    headers = {"Authorization": f"Bearer {metered.token}"}
    first = httpx.post(f"{gateway.url}/articles", headers=headers)
    assert first.status_code == 200, first.text
    policy = http_sf.parse(first.headers["ratelimit-policy"].encode(), tltype="list")
    current = http_sf.parse(first.headers["ratelimit"].encode(), tltype="list")
    assert policy == [("default", {"q": 5, "w": 60}), ("day", {"q": 100, "w": 86400})]
    assert [(name, p["r"]) for name, p in current] == [("default", 4), ("day", 99)]
    assert 0 <= current[0][1]["t"] <= 60
    unmetered = httpx.post(f"{gateway.url}/articles", headers={"X-API-Key": gateway.writer})
    assert unmetered.status_code == 200
    assert "ratelimit" not in unmetered.headers
    assert "ratelimit-policy" not in unmetered.headers


def test_revocation_reaches_the_gateway_within_a_second(gateway: Gateway) -> None:
    headers = {"X-API-Key": gateway.reader}
    assert httpx.get(f"{gateway.url}/users", headers=headers).status_code == 200
    with KeyHive(gateway.db_url, settings=Settings(hashing_profile="cheapest")) as hive:
        hive.revoke(gateway.reader_id, reason="test")
    revoked_at = time.monotonic()
    while httpx.get(f"{gateway.url}/users", headers=headers).status_code == 200:
        assert time.monotonic() - revoked_at < 3, "revocation did not reach the gateway"
        time.sleep(0.05)
    assert httpx.get(f"{gateway.url}/users", headers=headers).status_code == 401
