"""Run every benchmark part in one go and write the report and the raw JSON.

Bounded: every loop stops on a count or a deadline, every server listens on 127.0.0.1
only, every subprocess has a timeout. A part that cannot run says why in the report.
``--only`` and ``--skip`` choose parts; ``--quick`` is a smoke run. Only a full run
writes docs/benchmarks.md; others write benchmarks/results/partial.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from benchmarks import (
    _access_tokens,
    _compare,
    _gateway,
    _http,
    _inproc,
    _integrations,
    _oracle,
    _peers,
    _report,
    _server_cpu,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
DOC = ROOT / "docs" / "benchmarks.md"
PARTIAL = ROOT / "benchmarks" / "results" / "partial"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _load() -> list[float]:
    """1, 5 and 15 minute load averages: a busy machine makes every figure noisier."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "src"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return done.stdout.strip() + (" + uncommitted changes in src/" if dirty.stdout.strip() else "")


def _write(path: Path, text: str) -> None:
    """Write through a temporary file, so an interrupted run leaves the old file whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


#: Every part, in the order a full run takes them; b also gives part (c).
PARTS: Final = ("a", "peers", "b", "d", "e", "f", "g", "h", "compare")
HELP: Final = {
    "a": "keyhive in process: cache hits, cache off, slow path",
    "peers": "the peer libraries in process, each in its own venv",
    "b": "HTTP hot routes (b) and the wrong-secret flood (c)",
    "d": "nginx auth_request",
    "e": "server CPU of wrong guesses and of a cold start (issue 9)",
    "f": "timing oracle in process (issue 9)",
    "g": "integrations: FastAPI and Flask routes under load (issue 11)",
    "h": "OAuth access tokens beside API keys (issue 16)",
    "compare": "before/after: a baseline commit's code (a-hit, b and c), timed in turns",
}


def _parts(text: str) -> list[str]:
    names = [p.strip() for p in text.split(",") if p.strip()]
    names = ["b" if n == "c" else n for n in names]
    unknown = [n for n in names if n not in PARTS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown part {unknown[0]!r}; parts: {', '.join(PARTS)}")
    return names


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parts = "; ".join(f"{name}: {text}" for name, text in HELP.items())
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, epilog=f"Parts: {parts}."
    )
    parser.add_argument("--only", type=_parts, metavar="PART,...", help="run only these parts")
    parser.add_argument("--skip", type=_parts, default=[], metavar="PART,...", help="skip parts")
    parser.add_argument("--skip-peers", action="store_true", help="same as --skip peers")
    parser.add_argument("--skip-http", action="store_true", help="same as --skip b,d")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: small counts, short rounds, no docs"
    )
    parser.add_argument(
        "--compare",
        default=_compare.BASELINE,
        metavar="REV",
        help=f"baseline commit of the before/after part [default: {_compare.BASELINE}]",
    )
    parser.add_argument(
        "--http-seconds", type=float, default=9.0, help="timed wrk seconds per target"
    )
    parser.add_argument(
        "--wait-for-server",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="poll this long for keyhive.server.app before skipping keyhive's HTTP rows",
    )
    parser.add_argument("--no-write", action="store_true", help="print, do not write files")
    return parser.parse_args(argv)


def _selected(args: argparse.Namespace) -> list[str]:
    chosen = list(args.only or PARTS)
    skipped = set(args.skip)
    if args.skip_peers:
        skipped.add("peers")
    if args.skip_http:
        skipped |= {"b", "d"}
    return [part for part in PARTS if part in chosen and part not in skipped]


def _run_part(part: str, args: argparse.Namespace, notes: list[str]) -> tuple[str, Any]:
    """The results key of ``part`` and its results."""
    quick = args.quick
    seconds = 1.0 if quick else args.http_seconds
    warmup = 1.0 if quick else 2.0
    rounds = 1 if quick else _http.ROUNDS
    if part == "a":
        return "inproc", _inproc.run(notes, quick=quick)
    if part == "peers":
        return "peers", _peers.run(quick=quick)
    if part == "b":
        return "http", _http.run(
            notes,
            warmup=warmup,
            seconds=seconds,
            wait_for_server=args.wait_for_server,
            rounds=rounds,
        )
    if part == "d":
        return "gateway", _gateway.run(notes, seconds=seconds, warmup=warmup, rounds=rounds)
    if part == "e":
        return "server_cpu", _server_cpu.run(notes, quick=quick)
    if part == "f":
        return "oracle", _oracle.run(notes, quick=quick)
    if part == "g":
        # Many one-second rounds: the shares are ratios of neighbours in the same round,
        # and short rounds keep a noisy neighbour's burst inside a pair.
        return "integrations", _integrations.run(
            notes, seconds=seconds, warmup=warmup, rounds=rounds * _integrations.ROUND_SPLIT
        )
    if part == "h":
        return "access_tokens", _access_tokens.run(notes, quick=quick)
    return "compare", _compare.run(notes, rev=args.compare, quick=quick)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    parts = _selected(args)
    notes: list[str] = []
    started = time.monotonic()
    results: dict[str, Any] = {
        "meta": {
            "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
            "commit": _commit(),
            "cpu": _cpu_model(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_start": _load(),
            "parts": parts,
            "all_parts": list(PARTS),
            "quick": args.quick,
        }
    }
    for part in parts:
        print(f"({part}) {HELP[part]}", flush=True)
        begun = time.monotonic()
        key, value = _run_part(part, args, notes)
        results[key] = value
        results["meta"].setdefault("part_seconds", {})[part] = round(time.monotonic() - begun, 1)
    results["notes"] = notes
    results["meta"]["load_average_at_end"] = _load()
    results["meta"]["total_seconds"] = round(time.monotonic() - started, 1)

    doc = _report.render(results)
    full = parts == list(PARTS) and not args.quick
    if args.no_write:
        sys.stdout.write(doc + "\n")
    elif full:
        _write(RESULTS, json.dumps(results, indent=2) + "\n")
        _write(DOC, doc + "\n")
        print(f"wrote {DOC.relative_to(ROOT)} and {RESULTS.relative_to(ROOT)}")
    else:
        # Only a full run may write the page: every number on it comes from one run.
        _write(PARTIAL.with_suffix(".json"), json.dumps(results, indent=2) + "\n")
        _write(PARTIAL.with_suffix(".md"), doc + "\n")
        print(f"partial or quick run: wrote {PARTIAL.relative_to(ROOT)}.md and .json")
    for note in notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
