"""Part (e): what wrong guesses and a cold start cost the server, in CPU time (issue 9).

A real ``keyhive serve`` (one worker, default scrypt, a SQLite file with its key file so
digests are on) pinned to one CPU; this process sends ``GET /v1/auth`` requests one at a
time over one keep-alive connection from the other CPU, and reads the server process's
CPU time (all its threads; ``clock_gettime`` on its CPU clock, nanoseconds, else
``/proc/<pid>/stat`` in ticks) before and after each batch. Each figure is the extra CPU
per request beyond a batch of the same size, sent the same way, that needs no lookup.

Every request carries its own ``X-Real-IP`` (believed from loopback, as from a gateway):
the failure throttle slows an address after ten failures, and one address sending
thousands of guesses would measure the tarpit, not the verification.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from benchmarks._fixtures import bad_checksum, seed_tokens, wrong_for
from benchmarks._http import HOST, _cpus, _free_port, _tail, server_process
from keyhive import KeyHive
from keyhive.core.settings import Settings
from keyhive.core.tokens import make_token, parse_token

WRONG_GOAL_US: Final = 100.0
IDLE_SECONDS: Final = 1.0
COLD_GOAL_US: Final = 500.0
BATCH_DEADLINE: Final = 180.0
#: Requests per turn when a measured batch and its baseline are sent interleaved.
CHUNK: Final = 50
_CLI: Final = "from keyhive.cli import main; main()"


@dataclass(frozen=True)
class Sizes:
    """How many requests of each kind: the issue's figures, or a smoke run's."""

    ids: int
    wrong: int
    cold: int
    null: int
    warmup: int


FULL: Final = Sizes(ids=400, wrong=2_000, cold=2_000, null=200, warmup=30)
QUICK: Final = Sizes(ids=40, wrong=200, cold=200, null=5, warmup=10)


def process_cpu(pid: int) -> float:
    """Seconds of CPU the process ``pid`` has used (all threads, alive or ended)."""
    try:
        return time.clock_gettime_ns((~pid << 3) | 2) / 1e9  # CPUCLOCK_SCHED of the process
    except OSError:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Addresses:
    """A new client address for every request: 10.0.0.1, 10.0.0.2, ..."""

    def __init__(self) -> None:
        self._next = 1

    def take(self) -> str:
        n = self._next
        self._next += 1
        return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


class _Client:
    """One keep-alive HTTP/1.1 connection sending ``GET /v1/auth`` one at a time."""

    def __init__(self, base: str, addresses: _Addresses) -> None:
        host, port = base.removeprefix("http://").rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.addresses = addresses

    def auth(self, token: str) -> int:
        headers = {"Authorization": f"Bearer {token}", "X-Real-IP": self.addresses.take()}
        self.conn.request("GET", "/v1/auth", headers=headers)
        response = self.conn.getresponse()
        response.read()
        return response.status

    def close(self) -> None:
        self.conn.close()


@contextlib.contextmanager
def _on_load_cpu() -> Iterator[None]:
    """Run this thread on the load CPU (the server has the other), then put it back."""
    load_cpu = _cpus()[1]
    if load_cpu is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {load_cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _idle(pid: int, seconds: float) -> float:
    """The server's CPU seconds per second while no request comes (its background
    threads: the change feed's poll, the usage flush)."""
    cpu, wall = process_cpu(pid), time.perf_counter()
    time.sleep(seconds)
    return (process_cpu(pid) - cpu) / (time.perf_counter() - wall)


def _batch(client: _Client, pid: int, tokens: list[str], idle: float) -> dict[str, Any]:
    """Send ``tokens`` in order; the server's CPU seconds across them and the statuses.

    ``idle`` (CPU seconds per second with no load) is taken off, so a batch that took
    longer is not charged for more background work.
    """
    statuses: Counter[int] = Counter()
    deadline = time.monotonic() + BATCH_DEADLINE
    wall = time.perf_counter()
    cpu = process_cpu(pid)
    sent = 0
    for token in tokens:
        statuses[client.auth(token)] += 1
        sent += 1
        if time.monotonic() > deadline:
            break
    cpu = process_cpu(pid) - cpu
    wall = time.perf_counter() - wall
    net = cpu - idle * wall
    return {
        "requests": sent,
        "complete": sent == len(tokens),
        "cpu_seconds": cpu,
        "background_seconds": idle * wall,
        "cpu_us_per_request": net / max(sent, 1) * 1e6,
        "wall_seconds": wall,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def _interleaved(
    client: _Client,
    pid: int,
    measured: list[str],
    baseline: list[str],
    idle: float,
    chunk: int = CHUNK,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``measured`` and ``baseline`` sent by turns, ``chunk`` requests at a time, each
    kind's chunks added up: a neighbour's burst on a shared machine lands on both."""
    parts: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    for start in range(0, max(len(measured), len(baseline)), chunk):
        for tokens, done in ((measured, parts[0]), (baseline, parts[1])):
            if tokens[start : start + chunk]:
                done.append(_batch(client, pid, tokens[start : start + chunk], idle))
    return _summed(parts[0]), _summed(parts[1])


def _summed(batches: list[dict[str, Any]]) -> dict[str, Any]:
    """Chunks of one kind as one batch."""
    requests = sum(b["requests"] for b in batches)
    cpu = sum(b["cpu_seconds"] for b in batches)
    background = sum(b["background_seconds"] for b in batches)
    statuses: Counter[str] = Counter()
    for b in batches:
        statuses.update(b["statuses"])
    return {
        "requests": requests,
        "complete": all(b["complete"] for b in batches),
        "cpu_seconds": cpu,
        "background_seconds": background,
        "cpu_us_per_request": (cpu - background) / max(requests, 1) * 1e6,
        "wall_seconds": sum(b["wall_seconds"] for b in batches),
        "chunks": len(batches),
        "statuses": dict(sorted(statuses.items())),
    }


def _extra(batch: dict[str, Any], *baselines: dict[str, Any]) -> float:
    """CPU µs per request beyond the mean of the baseline batches."""
    base = sum(b["cpu_us_per_request"] for b in baselines) / len(baselines)
    return float(batch["cpu_us_per_request"] - base)


@dataclass
class _Tokens:
    known: list[str]  # secrets whose ids the wrong guesses aim at
    cold: list[str]  # verified once each after a restart
    null: list[str]  # the same, with no digest stored
    warm: str  # warms each server up; never measured


def _prepare(url: str, sizes: Sizes) -> _Tokens:
    """The database: default scrypt, the key file beside it (digests on)."""
    with KeyHive(url, settings=Settings()) as hive:
        assert hive.server_keys.durable, "no key file: digests would be off"
        decoy = hive.hashing.hash(make_token(hive.prefix).text)
        guessed = hive.create_client("guessed at").client_id
        cold = hive.create_client("cold start").client_id
        null = hive.create_client("no digest").client_id
        known = seed_tokens(hive, guessed, sizes.ids, hash_string=decoy)
        cold_tokens = seed_tokens(hive, cold, sizes.cold, hash_string=decoy)
        null_tokens = seed_tokens(hive, null, sizes.null, digest=False)
        warm = hive.issue_secret(guessed, scopes=["articles:read"]).token
    return _Tokens(known, cold_tokens, null_tokens, warm)


def _server(url: str, env: dict[str, str], log: Path) -> contextlib.AbstractContextManager[Any]:
    port = _free_port()
    cmd = [sys.executable, "-c", _CLI, "--db", url, "serve", "--host", HOST]
    cmd += ["--port", str(port), "--workers", "1", "--log-level", "warning"]
    return server_process(cmd, env, log, port)


def _warm_up(client: _Client, tokens: _Tokens, count: int) -> None:
    """One-time costs (first SQL statements, the thread pool) before anything is timed."""
    for _ in range(count):
        client.auth(tokens.warm)
        client.auth(wrong_for(tokens.warm))
        client.auth(bad_checksum(tokens.warm))


def _digests_missing(db: Path, tokens: list[str]) -> int:
    ids = [parse_token(t).secret_id for t in tokens]
    with contextlib.closing(sqlite3.connect(db)) as conn:
        marks = ",".join("?" * len(ids))
        query = f"SELECT COUNT(*) FROM secrets WHERE digest IS NULL AND secret_id IN ({marks})"
        return int(conn.execute(query, ids).fetchone()[0])


def run(notes: list[str], *, quick: bool = False) -> dict[str, Any]:
    """Part (e): (i) wrong guesses at known ids, first and second pass; (ii) cold start
    with digests; (iii) cold start without (the slow path)."""
    sizes = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="keyhive-cpu-") as name:
        tmp = Path(name)
        db = tmp / "cpu.db"
        url = f"sqlite:///{db}"
        log = tmp / "server.log"
        print(
            f"  preparing {sizes.ids + sizes.cold:,} secrets with digests and "
            f"{sizes.null} without (real scrypt) ...",
            flush=True,
        )
        tokens = _prepare(url, sizes)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHIVE_")}
        addresses = _Addresses()
        per_id = sizes.wrong // sizes.ids
        first = [wrong_for(tokens.known[i % sizes.ids]) for i in range(sizes.wrong)]
        second = [wrong_for(tokens.known[i % sizes.ids]) for i in range(sizes.wrong)]
        unchecked = [bad_checksum(t) for t in first]
        out: dict[str, Any] = {
            "sizes": vars(sizes),
            "guesses_per_id_per_pass": per_id,
            "server": "keyhive serve --workers 1 (uvicorn), default scrypt, SQLite + key file",
        }
        try:
            with _on_load_cpu():
                print("  (i) wrong secrets for known ids, on a fresh server ...", flush=True)
                with _server(url, env, log) as (base, proc):
                    client = _Client(base, addresses)
                    _warm_up(client, tokens, sizes.warmup)
                    idle = _idle(proc.pid, IDLE_SECONDS)
                    unseen, before = _interleaved(client, proc.pid, first, unchecked, idle)
                    checks = [bad_checksum(t) for t in second]
                    seen, after = _interleaved(client, proc.pid, second, checks, idle)
                    client.close()
                out["wrong"] = {
                    "idle_cpu_per_second": idle,
                    "chunk": CHUNK,
                    "baselines": [before, after],
                    "unseen": unseen,
                    "seen": seen,
                    "unseen_extra_us": _extra(unseen, before),
                    "seen_extra_us": _extra(seen, after),
                    "goal_us": WRONG_GOAL_US,
                }
                print("  (ii, iii) restart, then cold start with and without digests ...")
                with _server(url, env, log) as (base, proc):
                    client = _Client(base, addresses)
                    _warm_up(client, tokens, sizes.warmup)
                    idle_cold = _idle(proc.pid, IDLE_SECONDS)
                    # Each chunk of first verifications, then the same chunk again (hits).
                    cold, hits = _interleaved(client, proc.pid, tokens.cold, tokens.cold, idle_cold)
                    null, null_hits = _interleaved(
                        client, proc.pid, tokens.null, tokens.null, idle_cold
                    )
                    client.close()
        except (RuntimeError, OSError, http.client.HTTPException) as exc:
            notes.append(f"part (e) failed: {exc}; server log: {_tail(log)}")
            return {"skipped": str(exc)}
        out["cold"] = {
            "idle_cpu_per_second": idle_cold,
            "first": cold,
            "hits": hits,
            "extra_us": _extra(cold, hits),
            "goal_us": COLD_GOAL_US,
        }
        out["null"] = {
            "first": null,
            "hits": null_hits,
            "extra_us": _extra(null, null_hits),
            "digests_missing_after": _digests_missing(db, tokens.null),
        }
    return out
