"""Parts (b) and (c): keyhive's HTTP hot routes under wrk, beside a bare ASGI app.

Every server is the same uvicorn command (one worker, 127.0.0.1 only, no access log),
and every load is a bounded wrk run. With two or more CPUs the server is pinned to
CPU 0 and wrk to CPU 1, so the load generator does not steal the server's core.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from keyhive import KeyHive
from keyhive.tokens import RANDOM_LENGTH, checksum, random_base62

ROOT: Final = Path(__file__).resolve().parent.parent
WRK_DIR: Final = Path(__file__).resolve().parent / "wrk"
HOST: Final = "127.0.0.1"
CONNECTIONS: Final = 32
SERVER_APP: Final = "keyhive.server.app:create_app_from_env"
SCOPE: Final = "articles:read"


def ensure_wrk(notes: list[str]) -> str | None:
    """The wrk binary; installed with apt-get when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        notes.append("wrk is not installed and cannot be installed here (not root): HTTP skipped")
        return None
    print("  wrk missing: apt-get install -y wrk", flush=True)
    install = ["apt-get", "install", "-y", "wrk"]
    if subprocess.run(install, capture_output=True, timeout=600, check=False).returncode:
        subprocess.run(["apt-get", "update"], capture_output=True, timeout=600, check=False)
        subprocess.run(install, capture_output=True, timeout=600, check=False)
    found = shutil.which("wrk")
    if not found:
        notes.append("wrk could not be installed with apt-get: HTTP skipped")
    return found


def server_available() -> bool:
    """Whether the HTTP server module exists in this checkout."""
    try:
        return importlib.util.find_spec("keyhive.server.app") is not None
    except ModuleNotFoundError:
        return False


def _cpus() -> tuple[int | None, int | None]:
    """(server CPU, load CPU) when there are at least two CPUs to pin to."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return None, None
    return (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)


def _pin(cpu: int | None) -> Callable[[], None] | None:
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(app: list[str], env: dict[str, str], log: Path) -> Iterator[str]:
    """Run uvicorn with ``app`` on a free loopback port; yields the base URL."""
    port = _free_port()
    cmd = [sys.executable, "-m", "uvicorn", *app, "--host", HOST, "--port", str(port)]
    cmd += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_pin(_cpus()[0]),
        )
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}; see {log}")
            try:
                with socket.create_connection((HOST, port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not listen within 30 s; see {log}") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def wrk(
    binary: str,
    url: str,
    seconds: float,
    *,
    script: str = "report.lua",
    headers: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One bounded wrk run (1 thread, 32 connections); its JSON line plus req/s."""
    proc = start_wrk(binary, url, seconds, script=script, headers=headers, env=env)
    return finish_wrk(proc, seconds)


def start_wrk(
    binary: str,
    url: str,
    seconds: float,
    *,
    script: str = "report.lua",
    headers: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    cmd = [binary, "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--timeout", "5s"]
    cmd += ["-s", str(WRK_DIR / script)]
    for header in headers:
        cmd += ["-H", header]
    cmd.append(url)
    return subprocess.Popen(
        cmd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_pin(_cpus()[1]),
    )


def finish_wrk(proc: subprocess.Popen[str], seconds: float) -> dict[str, Any]:
    try:
        out, err = proc.communicate(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    for line in out.splitlines():
        if line.startswith("WRKJSON "):
            result: dict[str, Any] = json.loads(line.removeprefix("WRKJSON "))
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            return result
    raise RuntimeError(f"wrk printed no result: {err.strip() or out.strip()}")


def _request(
    url: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, dict[str, Any] | None]:
    """One request for a sanity check; the status and the JSON body if there is one."""
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def _prepare(db: Path) -> dict[str, str]:
    """An admin+verify token, a client's token, and a wrong token for that secret's id."""
    with KeyHive(f"sqlite:///{db}") as hive:
        admin = hive.bootstrap_admin()
        assert admin is not None
        client = hive.create_client("benchmark client")
        issued = hive.issue_secret(client.client_id, scopes=[SCOPE], name="benchmark")
    body = f"{issued.secret.prefix}_{issued.secret.secret_id}_{random_base62(RANDOM_LENGTH)}"
    wrong = body + checksum(body)
    assert wrong != issued.token
    return {"admin": admin.token, "token": issued.token, "wrong": wrong}


def _row(name: str, result: dict[str, Any], raw_rps: float | None) -> dict[str, Any]:
    row = {"name": name, **result}
    if raw_rps:
        row["fraction_of_raw"] = result["rps"] / raw_rps
    return row


def run(
    notes: list[str], *, warmup: float = 2.0, seconds: float = 10.0, wait_for_server: float = 0.0
) -> dict[str, Any]:
    """Parts (b) and (c); returns their rows, or notes saying why something was skipped."""
    binary = ensure_wrk(notes)
    if binary is None:
        return {"skipped": "wrk unavailable"}
    server_cpu, load_cpu = _cpus()
    setup = {
        "wrk": subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
        .stdout.strip()
        .splitlines()[0:1],
        "connections": CONNECTIONS,
        "wrk_threads": 1,
        "warmup_seconds": warmup,
        "seconds": seconds,
        "server_cpu": server_cpu,
        "load_cpu": load_cpu,
        "uvicorn": "--workers 1 --no-access-log --log-level warning (uvloop/httptools if present)",
    }
    out: dict[str, Any] = {"setup": setup, "rows": []}
    with tempfile.TemporaryDirectory(prefix="keyhive-bench-") as tmp:
        log = Path(tmp) / "server.log"
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHIVE_")}
        print("  raw ASGI hello-world ...", flush=True)
        with serve(["benchmarks.raw_asgi:app"], base_env, log) as url:
            wrk(binary, url + "/", warmup)
            raw = wrk(binary, url + "/", seconds)
        out["rows"].append(_row("raw ASGI hello-world (GET /)", raw, None))

        deadline = time.monotonic() + wait_for_server
        while not server_available() and time.monotonic() < deadline:
            time.sleep(15)
        if not server_available():
            notes.append(f"{SERVER_APP} does not exist in this checkout yet: keyhive HTTP skipped")
            return out

        tokens = _prepare(Path(tmp) / "bench.db")
        env = {**base_env, "KEYHIVE_DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}"}
        verify_env = {
            "BENCH_BEARER": tokens["admin"],
            "BENCH_BODY": json.dumps({"token": tokens["token"]}),
        }
        good = (f"Authorization: Bearer {tokens['token']}",)
        bad = (f"Authorization: Bearer {tokens['wrong']}",)
        try:
            with serve(["--factory", SERVER_APP], env, log) as url:
                _check(url, tokens, notes)
                print("  keyhive POST /v1/verify ...", flush=True)
                wrk(binary, url + "/v1/verify", warmup, script="verify.lua", env=verify_env)
                result = wrk(
                    binary, url + "/v1/verify", seconds, script="verify.lua", env=verify_env
                )
                out["rows"].append(_row("keyhive POST /v1/verify (cache hit)", result, raw["rps"]))
                print("  keyhive GET /v1/auth ...", flush=True)
                wrk(binary, url + "/v1/auth", warmup, headers=good)
                result = wrk(binary, url + "/v1/auth", seconds, headers=good)
                out["rows"].append(_row("keyhive GET /v1/auth (cache hit)", result, raw["rps"]))
                out["flood"] = _flood(binary, url, seconds, good, bad)
        except (RuntimeError, AssertionError) as exc:
            notes.append(f"keyhive HTTP run failed: {exc}; server log tail: {_tail(log)}")
    return out


def _check(url: str, tokens: dict[str, str], notes: list[str]) -> None:
    """Fail loudly unless both routes accept the good token and refuse the wrong one."""
    auth = {"Authorization": f"Bearer {tokens['admin']}", "Content-Type": "application/json"}
    status, body = _request(
        url + "/v1/verify", auth, json.dumps({"token": tokens["token"]}).encode()
    )
    if status != 200 or not body or body.get("valid") is not True:
        raise RuntimeError(f"POST /v1/verify answered {status} {body}")
    status, _ = _request(url + "/v1/auth", {"Authorization": f"Bearer {tokens['token']}"})
    if status != 200:
        raise RuntimeError(f"GET /v1/auth answered {status} for a valid token")
    status, _ = _request(url + "/v1/auth", {"Authorization": f"Bearer {tokens['wrong']}"})
    if status not in (401, 429):
        raise RuntimeError(f"GET /v1/auth answered {status} for a wrong secret")


def _flood(
    binary: str, url: str, seconds: float, good: tuple[str, ...], bad: tuple[str, ...]
) -> dict[str, Any]:
    """Part (c): /v1/auth p99 quiet, then while a second wrk floods wrong secrets."""
    print("  flood: quiet /v1/auth ...", flush=True)
    quiet = wrk(binary, url + "/v1/auth", seconds, headers=good)
    print("  flood: /v1/auth under a wrong-secret flood ...", flush=True)
    flood = start_wrk(binary, url + "/v1/auth", seconds + 2, script="flood.lua", headers=bad)
    time.sleep(1.0)
    loud = wrk(binary, url + "/v1/auth", seconds, headers=good)
    flooding = finish_wrk(flood, seconds + 2)
    return {
        "quiet": quiet,
        "flooded": loud,
        "flood": flooding,
        "p99_ratio": loud["p99_us"] / quiet["p99_us"],
        "flood_token": "right prefix and secret id, random part wrong, checksum correct",
    }


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
