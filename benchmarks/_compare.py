"""Before and after in one run (issue 11): a baseline commit's code against this
checkout's, on the same machine, timed in turns a few seconds apart.

The baseline is checked out into a temporary git worktree; each side runs as
``benchmarks/compare_child.py`` with PYTHONPATH pointing at its tree (``<tree>`` for its
benchmarks, ``<tree>/src`` for keyhive; the venv's editable install is a plain .pth
line, so PYTHONPATH wins). Every child reports the files it imported, and a probe with
the same environment reports what the servers it starts import; a side that runs the
wrong code is refused.

Both sides stay alive at once (their cache-hit hives, then their servers), and each
round times one side, then the other, swapping who goes first. This machine's speed
drifts by a fifth over minutes; measured seconds apart, both sides of a round see the
same machine, so each figure's verdict is the median over rounds of after ÷ before
within the round. The same raw ASGI app timed in every turn shows what is left of the
noise (its ratio would be 1.00 on a quiet machine).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, Final

from benchmarks import _http

ROOT: Final = Path(__file__).resolve().parent.parent
CHILD: Final = Path(__file__).resolve().parent / "compare_child.py"
COUNTER: Final = Path(__file__).resolve().parent / "compare_count.py"
BASELINE: Final = "c70ef86"
TOLERANCE: Final = 0.05
CHILD_TIMEOUT: Final = 600
SIDES: Final = ("before", "after")
RAW: Final = "raw ASGI hello-world (GET /)"
VERIFY: Final = "keyhive POST /v1/verify (cache hit)"
AUTH: Final = "keyhive GET /v1/auth (cache hit)"
#: compare_count.py's figures, as the table names them.
COUNTED: Final = {
    "hit": "cache hit, KeyHive.verify: instructions per verification",
    "auth": f"{AUTH}: instructions per request",
    "verify": f"{VERIFY}: instructions per request",
    "flood": "/v1/auth refusing a throttled wrong secret (the flood): instructions per request",
}
COUNT_REQUESTS: Final = 2_000
GIT_TIMEOUT: Final = 120


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


@contextlib.contextmanager
def worktree(rev: str) -> Iterator[tuple[Path, str]]:
    """A temporary detached worktree at ``rev``; yields its path and the full commit."""
    commit = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    with tempfile.TemporaryDirectory(prefix="keyhive-baseline-") as tmp:
        path = Path(tmp) / "tree"
        _git("worktree", "add", "--detach", str(path), commit)
        try:
            yield path, commit
        finally:
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                _git("worktree", "remove", "--force", str(path))
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                _git("worktree", "prune")


def _env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHIVE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(tree), str(tree / "src")])
    return env


def _imports(tree: Path) -> str:
    """What ``import keyhive.server.app`` loads under ``tree``'s environment (as the
    servers the child starts see it); refuses a tree whose code would not run."""
    probe = "import keyhive, keyhive.server.app; print(keyhive.__file__)"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tree,
        env=_env(tree),
        timeout=120,
        check=False,
    )
    found = done.stdout.strip().splitlines()[-1:] or [done.stderr.strip()[-300:]]
    _check_under(tree, found[0], "the servers' keyhive")
    return found[0]


def _check_under(tree: Path, path: str, what: str) -> None:
    if not Path(path).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"{what} came from {path}, not from {tree}")


class Child:
    """A compare_child of one tree, spoken to in JSON lines; its stderr goes to ``log``."""

    def __init__(self, tree: Path, args: list[str], log: IO[bytes], pin: bool) -> None:
        self.tree = tree
        self.proc = subprocess.Popen(
            [sys.executable, "-P", str(CHILD), *args],
            cwd=tree,
            env=_env(tree),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            preexec_fn=_http._pin(_http._cpus()[0]) if pin else None,
        )
        self.ready = self._read()
        _check_under(tree, self.ready["keyhive_file"], "keyhive")
        _check_under(tree, self.ready["benchmarks_file"], "the benchmarks")

    def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], CHILD_TIMEOUT)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(f"the child for {self.tree} stopped answering (see its log)")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@contextlib.contextmanager
def children(
    trees: dict[str, Path], args: list[str], log: IO[bytes], *, pin: bool
) -> Iterator[dict[str, Child]]:
    """One live child per side, closed on the way out."""
    started: dict[str, Child] = {}
    try:
        for side in SIDES:
            started[side] = Child(trees[side], args, log, pin)
        yield started
    finally:
        for child in started.values():
            child.close()


def _turns(round_number: int) -> tuple[str, str]:
    """Who goes first in a round: before, then after, swapping every round."""
    return SIDES if round_number % 2 == 0 else (SIDES[1], SIDES[0])


Rounds = dict[str, dict[str, list[float]]]  # figure -> side -> one value per round


def _add(rounds: Rounds, figure: str, side: str, value: float) -> None:
    rounds.setdefault(figure, {s: [] for s in SIDES})[side].append(value)


def _hit_rounds(
    trees: dict[str, Path], sizes: tuple[int, ...], count: int, seconds: float, log: IO[bytes]
) -> Rounds:
    rounds: Rounds = {}
    with children(trees, ["--hits", "--sizes", *map(str, sizes)], log, pin=True) as hives:
        for i in range(count):
            for side in _turns(i):
                for n in sizes:
                    rate = hives[side].ask({"n": n, "seconds": seconds})["rate"]
                    _add(rounds, f"cache hit, N = {n:,} (verifications/s)", side, rate)
    return rounds


def _http_rounds(
    trees: dict[str, Path], count: int, flood_count: int, seconds: float, log: IO[bytes]
) -> tuple[Rounds, dict[str, Any]]:
    notes: list[str] = []
    binary = _http.ensure_wrk(notes)
    if binary is None:
        raise RuntimeError("; ".join(notes) or "wrk is not available")
    rounds: Rounds = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHIVE_")}
    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(_http.serve(["benchmarks.raw_asgi:app"], env, Path(log.name)))
        servers = stack.enter_context(children(trees, ["--serve"], log, pin=False))
        shapes: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {}
        for side, child in servers.items():
            url, tokens = child.ready["url"], child.ready["tokens"]
            verify = {
                "script": "verify.lua",
                "env": {
                    "BENCH_BEARER": tokens["admin"],
                    "BENCH_BODY": json.dumps({"token": tokens["token"]}),
                },
            }
            shapes[side] = {
                RAW: (raw + "/", {}),
                VERIFY: (url + "/v1/verify", verify),
                AUTH: (
                    url + "/v1/auth",
                    {"headers": (f"Authorization: Bearer {tokens['token']}",)},
                ),
                "flood": (
                    url + "/v1/auth",
                    {"headers": (f"Authorization: Bearer {tokens['wrong']}",)},
                ),
            }
            for name in (VERIFY, AUTH):
                target, options = shapes[side][name]
                _http.wrk(binary, target, 1, **options)
        for i in range(count):
            for side in _turns(i):
                for name in (RAW, VERIFY, AUTH):
                    target, options = shapes[side][name]
                    result = _http.wrk(binary, target, seconds, **options)
                    _add(rounds, f"{name} req/s", side, result["rps"])
                    _add(rounds, f"{name} p99", side, result["p99_us"])
        statuses: dict[str, dict[str, int]] = {side: {} for side in SIDES}
        for i in range(flood_count):
            for side in _turns(i):
                auth, options = shapes[side][AUTH]
                bad, flood_options = shapes[side]["flood"]
                quiet = _http.wrk(binary, auth, seconds, **options)
                flood = _http.start_wrk(
                    binary, bad, seconds + 2, script="flood.lua", **flood_options
                )
                time.sleep(1.0)
                loud = _http.wrk(binary, auth, seconds, **options)
                refused = _http.finish_wrk(flood, seconds + 2)
                for status, n in refused.get("statuses", {}).items():
                    statuses[side][status] = statuses[side].get(status, 0) + n
                _add(rounds, "/v1/auth during the flood, req/s", side, loud["rps"])
                _add(rounds, "/v1/auth during the flood, p99", side, loud["p99_us"])
                _add(rounds, "flood p99 ÷ quiet p99", side, loud["p99_us"] / quiet["p99_us"])
    return rounds, {"flood_statuses": statuses}


def _instructions(tree: Path, figure: str, requests: int) -> float:
    """Instructions per request of one figure on one tree, counted by callgrind.

    The child starts with instrumentation off (start-up and imports run five times
    faster), warms up, and says ready; instrumentation is turned on from here and only
    the child's one ``functools.reduce`` call is collected (see compare_count.py).
    """
    env = {**_env(tree), "PYTHONHASHSEED": "0"}
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--collect-atstart=no"]
    cmd += ["--toggle-collect=functools_reduce", "--callgrind-out-file=/dev/null"]
    cmd += [sys.executable, "-P", str(COUNTER), figure, str(requests)]
    proc = subprocess.Popen(
        cmd,
        cwd=tree,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], CHILD_TIMEOUT)
        if not ready or proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the {figure} count for {tree} did not start")
        subprocess.run(
            ["callgrind_control", "--instr=on", str(proc.pid)],
            capture_output=True,
            timeout=60,
            check=True,
        )
        out, err = proc.communicate("go\n", timeout=CHILD_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    collected = re.findall(r"Collected : (\d+)", err)
    report = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    if proc.returncode or not collected or report.get("answered") != requests:
        raise RuntimeError(f"the {figure} count for {tree} failed: {err.strip()[-300:]}")
    _check_under(tree, report["keyhive_file"], "keyhive")
    _check_under(tree, report["benchmarks_file"], "the benchmarks")
    return int(collected[-1]) / requests


def _count_rounds(trees: dict[str, Path], requests: int) -> Rounds:
    """Every counted figure on both sides, two counts at a time (one per CPU)."""
    jobs = [(figure, side) for figure in COUNTED for side in SIDES]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = pool.map(lambda job: _instructions(trees[job[1]], job[0], requests), jobs)
        rounds: Rounds = {}
        for (figure, side), count in zip(jobs, counts, strict=True):
            _add(rounds, COUNTED[figure], side, count)
    return rounds


def _row(figure: str, values: dict[str, list[float]]) -> dict[str, Any]:
    """A figure's medians per side and the median of after ÷ before within each round."""
    higher = not (figure.endswith(("p99", "per request", "per verification")) or "÷" in figure)
    pairs = [a / b for b, a in zip(values["before"], values["after"], strict=True) if b]
    ratio = statistics.median(pairs) if pairs else float("nan")
    return {
        "figure": figure,
        "before": statistics.median(values["before"]),
        "after": statistics.median(values["after"]),
        "ratio": ratio,
        "ratio_low": min(pairs, default=float("nan")),
        "ratio_high": max(pairs, default=float("nan")),
        "higher_is_better": higher,
        "met": ratio >= 1 - TOLERANCE if higher else ratio <= 1 + TOLERANCE,
        "rounds": values,
    }


def run(notes: list[str], *, rev: str = BASELINE, quick: bool = False) -> dict[str, Any]:
    """Both sides in alternating turns; one row per figure, verdict on the paired ratio."""
    sizes = (1_000, 10_000) if quick else (1_000, 100_000)
    hit_rounds, hit_seconds = (4, 0.25) if quick else (16, 0.5)
    http_rounds, flood_rounds, http_seconds = (2, 2, 1.0) if quick else (12, 12, 2.0)
    requests = 200 if quick else COUNT_REQUESTS
    started = time.monotonic()
    try:
        with (
            worktree(rev) as (base, commit),
            tempfile.NamedTemporaryFile(prefix="keyhive-compare-", suffix=".log") as log,
        ):
            trees = {"before": base, "after": ROOT}
            imports = {side: _imports(tree) for side, tree in trees.items()}
            print(f"  cache hits: {hit_rounds} rounds, both sides alive ...", flush=True)
            rounds = _hit_rounds(trees, sizes, hit_rounds, hit_seconds, log)
            print(f"  HTTP: {http_rounds} rounds, flood: {flood_rounds} ...", flush=True)
            http, extra = _http_rounds(trees, http_rounds, flood_rounds, http_seconds, log)
            counted: Rounds = {}
            if shutil.which("valgrind") and shutil.which("callgrind_control"):
                print("  instructions per request, under callgrind ...", flush=True)
                counted = _count_rounds(trees, requests)
            else:
                notes.append("valgrind is not installed: the instruction counts were skipped")
    except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError, KeyError) as exc:
        notes.append(f"before/after comparison failed: {exc}")
        return {"skipped": str(exc)}
    rounds.update(http)
    rounds.update(counted)
    rows = [_row(figure, values) for figure, values in rounds.items()]
    return {
        "baseline": {"rev": rev, "commit": commit},
        "servers_import": {
            "before": "<baseline worktree>/" + str(Path(imports["before"]).relative_to(base)),
            "after": str(Path(imports["after"]).relative_to(ROOT)),
        },
        "settings": {
            "sizes": list(sizes),
            "hit_rounds": hit_rounds,
            "hit_seconds": hit_seconds,
            "http_rounds": http_rounds,
            "flood_rounds": flood_rounds,
            "http_seconds": http_seconds,
            "counted_requests": requests,
        },
        "rows": [row for row in rows if not row["figure"].startswith("raw")],
        "control": [row for row in rows if row["figure"].startswith("raw")],
        **extra,
        "tolerance": TOLERANCE,
        "seconds": round(time.monotonic() - started, 1),
    }
