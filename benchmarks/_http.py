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
import statistics
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
from keyhive.core.tokens import RANDOM_LENGTH, checksum, random_base62

ROOT: Final = Path(__file__).resolve().parent.parent
WRK_DIR: Final = Path(__file__).resolve().parent / "wrk"
HOST: Final = "127.0.0.1"
CONNECTIONS: Final = 32
SERVER_APP: Final = "keyhive.server.app:create_app_from_env"
SCOPE: Final = "articles:read"
ROUNDS: Final = 3


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
def serve(
    app: list[str], env: dict[str, str], log: Path, *, python: str = sys.executable
) -> Iterator[str]:
    """Run uvicorn with ``app`` on a free loopback port; yields the base URL.

    ``python`` is the interpreter to run it with (a peer's venv has its own).
    """
    port = _free_port()
    cmd = [python, "-m", "uvicorn", *app, "--host", HOST, "--port", str(port)]
    cmd += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    with server_process(cmd, env, log, port) as (base, _proc):
        yield base


@contextlib.contextmanager
def server_process(
    cmd: list[str], env: dict[str, str], log: Path, port: int
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run a server command pinned to the server CPU until it listens on ``port``.

    Yields the base URL and the process (whose CPU time part (e) reads); stops it after.
    """
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
        yield base, proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[Any]) -> None:
    """End a server started here: politely, then by force."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def wrk(binary: str, url: str, seconds: float, **options: Any) -> dict[str, Any]:
    """One bounded wrk run (``options`` as for :func:`start_wrk`); its JSON line plus req/s."""
    return finish_wrk(start_wrk(binary, url, seconds, **options), seconds)


def start_wrk(
    binary: str,
    url: str,
    seconds: float,
    *,
    script: str = "report.lua",
    headers: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    connections: int = CONNECTIONS,
) -> subprocess.Popen[str]:
    """Start a wrk run (1 thread, 32 connections unless told) with a script from
    benchmarks/wrk."""
    cmd = [binary, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s"]
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


def _combine(runs: list[dict[str, Any]], raw_rps: float | None = None) -> dict[str, Any]:
    """Rounds of one target: throughput over all of them, the median of each percentile."""
    requests = sum(r["requests"] for r in runs)
    duration = sum(r["duration_us"] for r in runs)
    out: dict[str, Any] = {"requests": requests, "duration_us": duration}
    out["rps"] = requests / (duration / 1e6)
    for key in ("non_2xx", "connect_errors", "read_errors", "write_errors", "timeouts"):
        if key in runs[0]:
            out[key] = sum(r[key] for r in runs)
    for key in ("p50_us", "p90_us", "p99_us"):
        if key in runs[0]:
            out[key] = statistics.median(r[key] for r in runs)
    if "statuses" in runs[0]:
        statuses: dict[str, int] = {}
        for r in runs:
            for status, count in r["statuses"].items():
                statuses[status] = statuses.get(status, 0) + count
        out["statuses"] = statuses
    if raw_rps:
        out["fraction_of_raw"] = out["rps"] / raw_rps
    out["rounds"] = runs
    return out


def run(
    notes: list[str],
    *,
    warmup: float = 2.0,
    seconds: float = 9.0,
    wait_for_server: float = 0.0,
    rounds: int = ROUNDS,
) -> dict[str, Any]:
    """Parts (b) and (c); returns their rows, or notes saying why something was skipped.

    Both servers run at once and the wrk rounds alternate between them, so a busy
    neighbour slows every contender alike and the share of raw stays comparable.
    """
    binary = ensure_wrk(notes)
    if binary is None:
        return {"skipped": "wrk unavailable"}
    server_cpu, load_cpu = _cpus()
    per_round = max(1, round(seconds / rounds))
    version = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    setup = {
        "wrk": version.stdout.strip().splitlines()[0:1],
        "connections": CONNECTIONS,
        "wrk_threads": 1,
        "warmup_seconds": warmup,
        "rounds": rounds,
        "seconds_per_round": per_round,
        "server_cpu": server_cpu,
        "load_cpu": load_cpu,
        "uvicorn": "--workers 1 --no-access-log --log-level warning (uvloop/httptools if present)",
    }
    out: dict[str, Any] = {"setup": setup, "rows": []}
    deadline = time.monotonic() + wait_for_server
    while not server_available() and time.monotonic() < deadline:
        time.sleep(15)
    with (
        tempfile.TemporaryDirectory(prefix="keyhive-bench-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        log = Path(tmp) / "server.log"
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHIVE_")}
        raw_url = stack.enter_context(serve(["benchmarks.raw_asgi:app"], base_env, log))
        raw_get = "raw ASGI hello-world (GET /)"
        raw_post = "raw ASGI hello-world (POST /, same body and headers as /v1/verify)"
        targets: list[tuple[str, str, dict[str, Any]]] = [(raw_get, raw_url + "/", {})]
        # Each keyhive route is compared with the raw app answering the same request shape.
        baseline: dict[str, str] = {}
        keyhive_url = None
        if not server_available():
            notes.append(f"{SERVER_APP} does not exist in this checkout yet: keyhive HTTP skipped")
        else:
            tokens = _prepare(Path(tmp) / "bench.db")
            env = {**base_env, "KEYHIVE_DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}"}
            try:
                keyhive_url = stack.enter_context(serve(["--factory", SERVER_APP], env, log))
                _check(keyhive_url, tokens)
            except RuntimeError as exc:
                notes.append(f"keyhive HTTP run failed: {exc}; server log tail: {_tail(log)}")
                keyhive_url = None
        if keyhive_url is not None:
            verify = {
                "script": "verify.lua",
                "env": {
                    "BENCH_BEARER": tokens["admin"],
                    "BENCH_BODY": json.dumps({"token": tokens["token"]}),
                },
            }
            good = {"headers": (f"Authorization: Bearer {tokens['token']}",)}
            targets += [
                (raw_post, raw_url + "/", verify),
                ("keyhive POST /v1/verify (cache hit)", keyhive_url + "/v1/verify", verify),
                ("keyhive GET /v1/auth (cache hit)", keyhive_url + "/v1/auth", good),
            ]
            baseline["keyhive POST /v1/verify (cache hit)"] = raw_post
            baseline["keyhive GET /v1/auth (cache hit)"] = raw_get
        print(f"  warm-up, then {rounds} alternating rounds of {per_round} s ...", flush=True)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in targets}
        for _name, url, kwargs in targets:
            wrk(binary, url, warmup, **kwargs)
        for _ in range(rounds):
            for name, url, kwargs in targets:
                runs[name].append(wrk(binary, url, per_round, **kwargs))
        raws = {name: _combine(runs[name]) for name in (raw_get, raw_post) if name in runs}
        for name, _, _ in targets:
            if name in raws:
                out["rows"].append({"name": name, **raws[name]})
            else:
                reference = raws[baseline[name]]["rps"]
                out["rows"].append(
                    {"name": name, "baseline": baseline[name], **_combine(runs[name], reference)}
                )
        if keyhive_url is not None:
            bad = (f"Authorization: Bearer {tokens['wrong']}",)
            out["flood"] = _flood(binary, keyhive_url, per_round, good["headers"], bad, rounds)
    return out


def _check(url: str, tokens: dict[str, str]) -> None:
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
    binary: str,
    url: str,
    per_round: int,
    good: tuple[str, ...],
    bad: tuple[str, ...],
    rounds: int = ROUNDS,
) -> dict[str, Any]:
    """Part (c): /v1/auth quiet, then while a second wrk floods wrong secrets; alternating."""
    print(f"  flood: {rounds} rounds of quiet, then flooded /v1/auth ...", flush=True)
    quiet, loud, floods = [], [], []
    for _ in range(rounds):
        quiet.append(wrk(binary, url + "/v1/auth", per_round, headers=good))
        flood = start_wrk(binary, url + "/v1/auth", per_round + 2, script="flood.lua", headers=bad)
        time.sleep(1.0)
        loud.append(wrk(binary, url + "/v1/auth", per_round, headers=good))
        floods.append(finish_wrk(flood, per_round + 2))
    quiet_all, loud_all = _combine(quiet), _combine(loud)
    return {
        "quiet": quiet_all,
        "flooded": loud_all,
        "flood": _combine(floods),
        "p99_ratio": loud_all["p99_us"] / quiet_all["p99_us"],
        "flood_token": "right prefix and secret id, random part wrong, checksum correct",
    }


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
