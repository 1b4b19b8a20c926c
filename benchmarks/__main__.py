"""Run every benchmark part in one go and write the report and the raw JSON.

Bounded: every loop stops on a count or a deadline, every server listens on 127.0.0.1
only, every subprocess has a timeout. A part that cannot run says why in the report.
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
from typing import Any

from benchmarks import _gateway, _http, _inproc, _peers, _report

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
DOC = ROOT / "docs" / "benchmarks.md"


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--skip-peers", action="store_true", help="do not run the peers")
    parser.add_argument("--skip-http", action="store_true", help="do not run parts (b) and (c)")
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
    args = parser.parse_args(argv)

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
        }
    }
    print("(a) keyhive in process", flush=True)
    results["inproc"] = _inproc.run(notes)
    if args.skip_peers:
        notes.append("peers skipped (--skip-peers)")
    else:
        print("(a) peers, each in its own venv", flush=True)
        results["peers"] = _peers.run()
    if args.skip_http:
        results["http"] = {"skipped": "--skip-http"}
    else:
        print("(b, c) HTTP", flush=True)
        results["http"] = _http.run(
            notes, seconds=args.http_seconds, wait_for_server=args.wait_for_server
        )
        print("(d) nginx auth_request", flush=True)
        results["gateway"] = _gateway.run(notes, seconds=args.http_seconds)
    results["notes"] = notes
    results["meta"]["load_average_at_end"] = _load()
    results["meta"]["total_seconds"] = round(time.monotonic() - started, 1)

    doc = _report.render(results)
    if args.no_write:
        sys.stdout.write(doc + "\n")
    else:
        _write(RESULTS, json.dumps(results, indent=2) + "\n")
        _write(DOC, doc + "\n")
        print(f"wrote {DOC.relative_to(ROOT)} and {RESULTS.relative_to(ROOT)}")
    for note in notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
