"""Part (g): the integrations under load (issue 11): one route, open or behind a check.

FastAPI rows run on the same uvicorn command as part (b) (one worker, pinned to the
server CPU); Flask rows on one gunicorn sync worker, likewise pinned. All servers run at
once and wrk's rounds alternate between them, so a busy neighbour slows every row
alike. The apps are in benchmarks/apps/; fastapi-keygate's runs in its own venv.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, Final

from benchmarks._http import (
    HOST,
    ROOT,
    ROUNDS,
    _combine,
    _free_port,
    _tail,
    ensure_wrk,
    serve,
    server_process,
    wrk,
)
from benchmarks._peers import PEERS, ensure_venv
from keyhive import KeyHive
from keyhive.core.settings import Settings

GOAL_OF_CEILING: Final = 0.9
#: Part (g) runs this many times the rounds of part (b), of one second each: three
#: times part (b)'s time per row. One pair of neighbours in a one-second round moves by
#: ±15% on a shared machine: with 9 of them, two runs of code with the same instruction
#: count read 0.82 and 0.95 of the check. The median of 27 is steadier.
ROUND_SPLIT: Final = 9
ISSUER: Final = "https://keyhive.bench"
AUDIENCE: Final = "https://api.bench"
SCOPE: Final = "articles:read"
_KEYGATE: Final = next(p for p in PEERS if p.name == "fastapi-keygate")


@dataclass(frozen=True)
class Target:
    """One row: a server already listening, the header it is called with."""

    framework: str
    name: str
    url: str
    headers: tuple[str, ...] = field(default=(), repr=False)


def _gunicorn(spec: str, env: dict[str, str], log: Path) -> contextlib.AbstractContextManager[Any]:
    port = _free_port()
    cmd = [sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "sync"]
    cmd += ["--bind", f"{HOST}:{port}", "--log-level", "warning", spec]
    return server_process(cmd, env, log, port)


@contextlib.contextmanager
def _wsgi(spec: str, env: dict[str, str], log: Path) -> Iterator[str]:
    with _gunicorn(spec, env, log) as (base, _proc):
        yield base


def _status(url: str, headers: tuple[str, ...]) -> int:
    pairs = dict(h.split(": ", 1) for h in headers)
    request = urllib.request.Request(url, headers=pairs)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _prepare(tmp: Path) -> dict[str, str]:
    """keyhive's database (key file beside it, OAuth on): an API key and an access token."""
    from keyhive.service.oauth import OAuthService

    url = f"sqlite:///{tmp / 'apps.db'}"
    settings = Settings(oauth_issuer=ISSUER, oauth_audience=AUDIENCE)
    with KeyHive(url, settings=settings) as hive:
        client = hive.create_client("benchmark app")
        issued = hive.issue_secret(client.client_id, scopes=[SCOPE])
        jwt = (
            OAuthService.for_hive(hive)
            .token(
                grant_type="client_credentials",
                client_id=client.client_id,
                client_secret=issued.token,
            )
            .access_token
        )
    return {"url": url, "token": issued.token, "jwt": jwt}


def _keygate_key(python: Path, db: Path) -> str:
    done = subprocess.run(
        [str(python), "-m", "benchmarks.apps.keygate_app", str(db)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"keygate key: {done.stderr.strip()[-300:]}")
    return str(json.loads(done.stdout.strip().splitlines()[-1])["key"])


def _targets(
    stack: contextlib.ExitStack, tmp: Path, notes: list[str]
) -> tuple[list[Target], dict[str, Any]]:
    """Start every server; the targets and what was set up."""
    log = tmp / "servers.log"
    prepared = _prepare(tmp)
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEYHIVE_")}
    bearer_env = {**base, "BENCH_TOKEN": prepared["token"]}
    keyhive_env = {
        **base,
        "KEYHIVE_DATABASE_URL": prepared["url"],
        "KEYHIVE_OAUTH_ISSUER": ISSUER,
        "KEYHIVE_OAUTH_AUDIENCE": AUDIENCE,
    }
    key = (f"Authorization: Bearer {prepared['token']}",)
    jwt = (f"Authorization: Bearer {prepared['jwt']}",)
    apps = "benchmarks.apps.fastapi_apps:"
    fast = [
        ("open", serve(["--factory", apps + "open_app"], base, log), ()),
        ("one-line bearer check", serve(["--factory", apps + "bearer_app"], bearer_env, log), key),
        (
            "keyhive KeyhiveAuth, API key",
            serve(["--factory", apps + "keyhive_app"], keyhive_env, log),
            key,
        ),
    ]
    targets = [
        Target("FastAPI", name, stack.enter_context(server) + "/hello", headers)
        for name, server, headers in fast
    ]
    keyhive_url = targets[-1].url
    targets.append(Target("FastAPI", "keyhive KeyhiveAuth, access token (JWT)", keyhive_url, jwt))
    setup: dict[str, Any] = {"uvicorn": version("uvicorn"), "gunicorn": version("gunicorn")}
    try:
        python = ensure_venv(_KEYGATE)
        gate_db = tmp / "keygate.db"
        gate_key = (f"X-API-Key: {_keygate_key(python, gate_db)}",)
        gate_env = {**base, "BENCH_KEYGATE_DB": str(gate_db)}
        gate = serve(
            ["--factory", "benchmarks.apps.keygate_app:app"], gate_env, log, python=str(python)
        )
        targets.append(
            Target(
                "FastAPI",
                "fastapi-keygate 0.5.1 Depends(gate.require)",
                stack.enter_context(gate) + "/hello",
                gate_key,
            )
        )
        setup["keygate_requirements"] = list(_KEYGATE.requirements)
        if f"uvicorn[standard]=={version('uvicorn')}" not in _KEYGATE.requirements:
            notes.append(
                "part (g): the keygate venv's uvicorn pin differs from keyhive's uvicorn "
                f"{version('uvicorn')}: update benchmarks/_peers.py"
            )
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        notes.append(f"part (g): fastapi-keygate row skipped: {exc}")
    flask = "benchmarks.apps.flask_apps:"
    wsgi = [
        ("open", _wsgi(flask + "open_app()", base, log), ()),
        ("one-line bearer check", _wsgi(flask + "bearer_app()", bearer_env, log), key),
        (
            "keyhive KeyhiveFlask.require, API key",
            _wsgi(flask + "keyhive_app()", keyhive_env, log),
            key,
        ),
    ]
    targets += [
        Target("Flask", name, stack.enter_context(server) + "/hello", headers)
        for name, server, headers in wsgi
    ]
    return targets, setup


def _check(targets: list[Target]) -> None:
    """Every row answers 200 with its credential; every protected row 401 without one."""
    for target in targets:
        status = _status(target.url, target.headers)
        if status != 200:
            raise RuntimeError(f"{target.framework} {target.name} answered {status}")
        if target.headers and _status(target.url, ()) != 401:
            raise RuntimeError(f"{target.framework} {target.name} let a bare request in")


def _add_shares(rows: list[dict[str, Any]]) -> None:
    """Each row's share of its framework's one-line check: the median over rounds of the
    ratio of the two rows' throughputs in the same round. Rows of one round run seconds
    apart, so a busy neighbour on a shared machine moves both sides of each ratio."""
    ceilings = {r["framework"]: r for r in rows if r["name"] == "one-line bearer check"}
    for row in rows:
        ceiling = ceilings.get(row["framework"])
        if ceiling is None:
            continue
        paired = zip(row["rounds"], ceiling["rounds"], strict=True)
        row["share_of_ceiling"] = statistics.median(a["rps"] / b["rps"] for a, b in paired)


def run(
    notes: list[str], *, seconds: float = 9.0, warmup: float = 2.0, rounds: int = ROUNDS
) -> dict[str, Any]:
    """Part (g): every target in alternating wrk rounds; rows and the goals' ratios."""
    binary = ensure_wrk(notes)
    if binary is None:
        return {"skipped": "wrk unavailable"}
    per_round = max(1, round(seconds / rounds))
    with (
        tempfile.TemporaryDirectory(prefix="keyhive-apps-") as name,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(name)
        try:
            targets, setup = _targets(stack, tmp, notes)
            _check(targets)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            notes.append(f"part (g) failed: {exc}; server log: {_tail(tmp / 'servers.log')}")
            return {"skipped": str(exc)}
        print(f"  {len(targets)} targets: warm-up, then {rounds} rounds of {per_round} s ...")
        runs: dict[Target, list[dict[str, Any]]] = {t: [] for t in targets}
        for target in targets:
            wrk(binary, target.url, warmup, headers=target.headers)
        for index in range(rounds):
            # Every other round runs the rows backwards, so no row always follows the
            # same neighbour (the one-line check would otherwise always run just before
            # keyhive, on the same CPU, at the same point of every round).
            for target in targets if index % 2 == 0 else targets[::-1]:
                runs[target].append(wrk(binary, target.url, per_round, headers=target.headers))
                time.sleep(0.2)  # let a closing-connection server drain before the next row
    rows = [{"framework": t.framework, "name": t.name, **_combine(r)} for t, r in runs.items()]
    _add_shares(rows)
    setup.update(rounds=rounds, seconds_per_round=per_round, warmup_seconds=warmup)
    return {"setup": setup, "rows": rows, "goal_of_ceiling": GOAL_OF_CEILING}
