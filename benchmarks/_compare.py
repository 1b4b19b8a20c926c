"""Before and after in one run (issue 11): a baseline commit's own benchmarks against
this checkout's, on the same machine, in alternating rounds.

The baseline is checked out into a temporary git worktree; each side runs as
``benchmarks/compare_child.py`` with PYTHONPATH pointing at its tree (``<tree>`` for its
benchmarks, ``<tree>/src`` for keyhive; the venv's editable install is a plain .pth
line, so PYTHONPATH wins). Every child reports the files it imported, and a probe with
the same environment reports what the servers it starts import; a side that runs the
wrong code is refused. Rounds go baseline, this checkout, this checkout, baseline (and
so on), so a drift over the run weighs on both sides alike.
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from benchmarks._http import _combine

ROOT: Final = Path(__file__).resolve().parent.parent
CHILD: Final = Path(__file__).resolve().parent / "compare_child.py"
BASELINE: Final = "c70ef86"
TOLERANCE: Final = 0.05
CHILD_TIMEOUT: Final = 600
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


def _side(tree: Path, sizes: tuple[int, ...], hit: float, http: float, warmup: float) -> Any:
    """One round of one side: the child's JSON, checked to be that tree's code."""
    cmd = [sys.executable, "-P", str(CHILD), "--sizes", *map(str, sizes)]
    cmd += ["--hit-seconds", str(hit), "--http-seconds", str(http), "--warmup", str(warmup)]
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        cwd=tree,
        env=_env(tree),
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        raise RuntimeError(f"child failed: {done.stderr.strip()[-500:]}")
    result = json.loads(lines[-1])
    _check_under(tree, result["keyhive_file"], "keyhive")
    _check_under(tree, result["benchmarks_file"], "the benchmarks")
    return result


def _merge(results: list[Any]) -> dict[str, Any]:
    """One side's rounds, pooled: hit medians over every round, HTTP rows recombined."""
    hits: dict[int, list[float]] = {}
    for result in results:
        for row in result["cache_hit"]:
            hits.setdefault(row["n"], []).extend(row["rounds"])
    out: dict[str, Any] = {
        "cache_hit": [
            {"n": n, "ops_per_sec": statistics.median(r)} for n, r in sorted(hits.items())
        ],
        "notes": sorted({note for r in results for note in r["notes"]}),
    }
    http = [r["http"] for r in results if "rows" in r["http"]]
    if not http:
        out["http_skipped"] = results[0]["http"].get("skipped", "no rows")
        return out
    rows: dict[str, list[dict[str, Any]]] = {}
    for part in http:
        for row in part["rows"]:
            rows.setdefault(row["name"], []).extend(row["rounds"])
    out["http"] = {name: _combine(rounds) for name, rounds in rows.items()}
    floods = [part["flood"] for part in http if "flood" in part]
    if floods:
        quiet = _combine([r for f in floods for r in f["quiet"]["rounds"]])
        loud = _combine([r for f in floods for r in f["flooded"]["rounds"]])
        out["flood"] = {
            "quiet": quiet,
            "flooded": loud,
            "p99_ratio": loud["p99_us"] / quiet["p99_us"],
        }
    return out


def _metrics(side: dict[str, Any]) -> dict[str, tuple[float, bool]]:
    """Figure name -> (value, higher is better)."""
    found: dict[str, tuple[float, bool]] = {}
    for row in side["cache_hit"]:
        found[f"cache hit, N = {row['n']:,} (verifications/s)"] = (row["ops_per_sec"], True)
    for name, row in side.get("http", {}).items():
        if name.startswith("keyhive"):
            found[f"{name} req/s"] = (row["rps"], True)
            found[f"{name} p99"] = (row["p99_us"], False)
    flood = side.get("flood")
    if flood:
        found["/v1/auth during the flood, req/s"] = (flood["flooded"]["rps"], True)
        found["/v1/auth during the flood, p99"] = (flood["flooded"]["p99_us"], False)
        found["flood p99 ÷ quiet p99"] = (flood["p99_ratio"], False)
    return found


def _context(side: dict[str, Any]) -> dict[str, float]:
    """The raw ASGI rows: the same app on both sides, so their gap is the machine's noise."""
    return {n: r["rps"] for n, r in side.get("http", {}).items() if n.startswith("raw")}


def _shares(side: dict[str, Any]) -> dict[str, float]:
    """Each keyhive req/s figure as a share of the raw app answering the same request
    shape, whose wrk rounds alternated with it in the same child: a drift of the
    machine's speed between children weighs on both parts of the share alike."""
    http = side.get("http", {})
    raw = {"GET": "raw ASGI hello-world (GET /)"}
    raw["POST"] = "raw ASGI hello-world (POST /, same body and headers as /v1/verify)"
    found: dict[str, float] = {}
    for name, row in http.items():
        control = http.get(raw["POST" if "POST" in name else "GET"])
        if name.startswith("keyhive") and control and control["rps"]:
            found[f"{name} req/s"] = row["rps"] / control["rps"]
    flood, control = side.get("flood"), http.get(raw["GET"])
    if flood and control and control["rps"]:
        found["/v1/auth during the flood, req/s"] = flood["flooded"]["rps"] / control["rps"]
    return found


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of the before/after table with ratio and verdict (within 5% or better);
    HTTP throughput rows also give the ratio of their shares of the raw app."""
    old, new = _metrics(before), _metrics(after)
    old_shares, new_shares = _shares(before), _shares(after)
    rows = []
    for name, (value, higher) in old.items():
        if name not in new:
            continue
        now = new[name][0]
        ratio = now / value if value else float("nan")
        ok = ratio >= 1 - TOLERANCE if higher else ratio <= 1 + TOLERANCE
        row: dict[str, Any] = {
            "figure": name,
            "before": value,
            "after": now,
            "ratio": ratio,
            "higher_is_better": higher,
            "met": ok,
        }
        if name in old_shares and name in new_shares:
            row["share_ratio"] = new_shares[name] / old_shares[name]
        rows.append(row)
    return rows


def run(notes: list[str], *, rev: str = BASELINE, quick: bool = False) -> dict[str, Any]:
    """Both sides in ABBA rounds (AB when quick); the pooled figures and the table."""
    sizes = (1_000, 10_000) if quick else (1_000, 100_000)
    hit, http, warmup = (0.5, 3.0, 1.0) if quick else (2.0, 3.0, 1.0)
    # Eight rounds, ABBA twice: this machine's speed drifts over minutes, and shorter
    # turns let a drift weigh on both sides alike.
    order = ("before", "after") if quick else ("before", "after", "after", "before") * 2
    started = time.monotonic()
    try:
        with worktree(rev) as (base, commit):
            trees = {"before": base, "after": ROOT}
            imports = {side: _imports(tree) for side, tree in trees.items()}
            results: dict[str, list[Any]] = {"before": [], "after": []}
            for i, side in enumerate(order, 1):
                print(f"  round {i}/{len(order)}: {side} ({trees[side].name}) ...", flush=True)
                results[side].append(_side(trees[side], sizes, hit, http, warmup))
    except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError, KeyError) as exc:
        notes.append(f"before/after comparison failed: {exc}")
        return {"skipped": str(exc)}
    merged = {side: _merge(r) for side, r in results.items()}
    for side, m in merged.items():
        notes += [
            f"{side} ({'baseline' if side == 'before' else 'this checkout'}): {n}"
            for n in m["notes"]
        ]
    return {
        "baseline": {"rev": rev, "commit": commit},
        "order": list(order),
        "servers_import": {
            "before": "<baseline worktree>/" + str(Path(imports["before"]).relative_to(base)),
            "after": str(Path(imports["after"]).relative_to(ROOT)),
        },
        "settings": {
            "sizes": list(sizes),
            "hit_seconds": hit,
            "http_seconds": http,
            "warmup": warmup,
        },
        "before": merged["before"],
        "after": merged["after"],
        "context": {side: _context(m) for side, m in merged.items()},
        "rows": compare(merged["before"], merged["after"]),
        "tolerance": TOLERANCE,
        "seconds": round(time.monotonic() - started, 1),
    }
