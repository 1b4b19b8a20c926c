"""Part (d): nginx ``auth_request`` in front of an upstream, one worker each.

Three nginx servers in one nginx (``worker_processes 1``), all proxying to the same raw
ASGI upstream:

- straight: no auth at all (context: what nginx + Python upstream costs);
- ceiling: ``auth_request`` to a raw ASGI app that always answers a bodiless 200 (the
  shape of keyhive's pass), the most any Python auth service can give on this machine;
- ceiling_ok: the same with a raw app answering ``200 ok`` (a 2-byte body), the
  hello-world of part (b); shown because a body changes what nginx and the server do;
- keyhive: ``auth_request`` to ``keyhive serve``'s ``GET /v1/auth`` (cache hit).

Both auth variants use the same location block (keepalive connections to the auth
service, no request body), so the only difference is who answers the subrequest.
wrk runs the three in alternating rounds.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from benchmarks._http import (
    HOST,
    ROUNDS,
    SCOPE,
    SERVER_APP,
    _combine,
    _free_port,
    _prepare,
    _tail,
    ensure_wrk,
    serve,
    server_available,
    stop,
    wrk,
)

TARGET: Final = 0.8
_FG: Final = "daemon off;"
_NGINX_PATHS: Final = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")

_AUTH_LOCATION: Final = """
        location = /_auth {{
            internal;
            proxy_pass http://{upstream}{path};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Real-IP $remote_addr;
        }}
        location / {{
            auth_request /_auth;
            auth_request_set $keyhive_client_id $upstream_http_x_keyhive_client_id;
            proxy_set_header X-Keyhive-Client-Id $keyhive_client_id;
            proxy_set_header Authorization "";
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://api;
        }}
"""


def find_nginx(notes: list[str]) -> str | None:
    """The nginx binary; installed from Debian's packages when missing and root."""
    found = shutil.which("nginx") or next((p for p in _NGINX_PATHS if os.access(p, os.X_OK)), None)
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx"],
            capture_output=True,
            check=False,
            timeout=600,
        )
        found = next((p for p in _NGINX_PATHS if os.access(p, os.X_OK)), None)
    if found is None:
        notes.append("nginx unavailable: part (d) skipped (apt-get install nginx)")
    return found


def _config(tmp: Path, ports: dict[str, int], upstreams: dict[str, int]) -> str:
    """One nginx: ``straight`` proxies to ``api``; every other port authenticates each
    request with ``auth_request`` against the upstream of the same name first."""
    temp = "\n".join(
        f"    {kind}_temp_path {tmp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;\n" if os.geteuid() == 0 else ""
    blocks = "".join(
        f"    upstream {name} {{ server {HOST}:{port}; keepalive 64; }}\n"
        for name, port in upstreams.items()
    )
    straight = (
        '        location / { proxy_http_version 1.1; proxy_set_header Connection "";'
        " proxy_pass http://api; }\n"
    )
    servers = [f"    server {{\n        listen {HOST}:{ports['straight']};\n{straight}    }}\n"]
    for name, port in ports.items():
        if name == "straight":
            continue
        path = f"/v1/auth?scope={SCOPE}" if name == "keyhive" else "/"
        servers.append(
            f"    server {{\n        listen {HOST}:{port};\n"
            + _AUTH_LOCATION.format(upstream=name, path=path)
            + "    }\n"
        )
    return (
        f"{user}worker_processes 1;\npid {tmp / 'nginx.pid'};\n"
        f"error_log {tmp / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n    access_log off;\n{temp}\n{blocks}{''.join(servers)}}}\n"
    )


@contextlib.contextmanager
def _nginx(binary: str, tmp: Path, config: str) -> Iterator[None]:
    conf = tmp / "nginx.conf"
    conf.write_text(config)
    proc = subprocess.Popen(
        [
            binary,
            "-p",
            str(tmp),
            "-e",
            str(tmp / "error.log"),
            "-c",
            str(conf),
            "-g",
            "daemon off;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        time.sleep(0.5)
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {_tail(tmp / 'error.log')}")
        yield
    finally:
        stop(proc)


def _status(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def run(
    notes: list[str], *, seconds: float = 9.0, warmup: float = 2.0, rounds: int = ROUNDS
) -> dict[str, Any]:
    """Part (d); rows for straight, ceiling and keyhive, or why it was skipped."""
    wrk_binary = ensure_wrk(notes)
    nginx = find_nginx(notes)
    if wrk_binary is None or nginx is None or not server_available():
        return {"skipped": "wrk, nginx or keyhive's server unavailable"}
    per_round = max(1, round(seconds / rounds))
    with tempfile.TemporaryDirectory(prefix="keyhive-gw-") as name, contextlib.ExitStack() as stack:
        tmp = Path(name)
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (tmp / kind).mkdir()
        os.chmod(tmp, 0o755)
        log = tmp / "servers.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith("KEYHIVE_")}
        tokens = _prepare(tmp / "bench.db")
        env = {**base, "KEYHIVE_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}"}
        api = stack.enter_context(serve(["benchmarks.raw_asgi:app"], base, log))
        ceiling = stack.enter_context(serve(["benchmarks.raw_asgi:empty"], base, log))
        ceiling_ok = stack.enter_context(serve(["benchmarks.raw_asgi:app"], base, log))
        keyhive = stack.enter_context(serve(["--factory", SERVER_APP], env, log))
        ports = {name: _free_port() for name in ("straight", "ceiling", "ceiling_ok", "keyhive")}

        def port_of(url: str) -> int:
            return int(url.rsplit(":", 1)[1])

        upstreams = {
            "api": port_of(api),
            "ceiling": port_of(ceiling),
            "ceiling_ok": port_of(ceiling_ok),
            "keyhive": port_of(keyhive),
        }
        config = _config(tmp, ports, upstreams)
        stack.enter_context(_nginx(nginx, tmp, config))
        urls = {name: f"http://{HOST}:{port}/articles" for name, port in ports.items()}
        checks = {name: _status(url, tokens["token"]) for name, url in urls.items()}
        if set(checks.values()) != {200}:
            return {"skipped": f"sanity check failed: {checks}; {_tail(tmp / 'error.log')}"}
        if _status(urls["keyhive"], tokens["wrong"]) != 401:
            return {"skipped": "keyhive did not refuse a wrong token through nginx"}
        headers = (f"Authorization: Bearer {tokens['token']}",)
        print(f"  nginx: warm-up, then {rounds} alternating rounds of {per_round} s ...")
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in urls}
        for url in urls.values():
            wrk(wrk_binary, url, warmup, headers=headers)
        for _ in range(rounds):
            for name, url in urls.items():
                runs[name].append(wrk(wrk_binary, url, per_round, headers=headers))
    rows = {name: _combine(r) for name, r in runs.items()}
    return {
        "rows": rows,
        "keyhive_over_ceiling": rows["keyhive"]["rps"] / rows["ceiling"]["rps"],
        "keyhive_over_ceiling_ok": rows["keyhive"]["rps"] / rows["ceiling_ok"]["rps"],
        "ceiling_over_straight": rows["ceiling"]["rps"] / rows["straight"]["rps"],
        "target": TARGET,
    }
