"""Run one tree's own benchmarks for ``--compare``: its cache hits and its HTTP parts.

Started by benchmarks/_compare.py as ``python -P compare_child.py ...`` with PYTHONPATH
set to ``<tree>:<tree>/src``, so ``benchmarks`` and ``keyhive`` are that tree's (the
baseline's, or this checkout's). It uses only calls that both trees have. Prints one
JSON line last, with the files it imported, so the caller can check which code ran.
"""

from __future__ import annotations

import argparse
import json
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", required=True)
    parser.add_argument("--hit-seconds", type=float, required=True)
    parser.add_argument("--http-seconds", type=float, required=True)
    parser.add_argument("--warmup", type=float, required=True)
    args = parser.parse_args()

    import keyhive
    from benchmarks import _http, _inproc

    notes: list[str] = []
    out = {
        "keyhive_file": keyhive.__file__,
        "benchmarks_file": _inproc.__file__,
        "cache_hit": _inproc.cache_hits(tuple(args.sizes), args.hit_seconds, notes),
        "http": _http.run(notes, warmup=args.warmup, seconds=args.http_seconds),
        "notes": notes,
    }
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
