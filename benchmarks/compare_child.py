"""One tree's side of ``--compare``, kept alive so both sides can be timed in turns.

Started by benchmarks/_compare.py as ``python -P compare_child.py --hits|--serve`` with
PYTHONPATH set to ``<tree>:<tree>/src``, so ``benchmarks`` and ``keyhive`` are that
tree's (the baseline's, or this checkout's). It uses only calls that both trees have.

- ``--hits``: builds that tree's cache-hit hives (one per N, as its
  ``benchmarks._inproc.cache_hits`` does), then answers each line ``{"n", "seconds"}``
  on stdin with ``{"rate"}``: verifications per second of one cached token.
- ``--serve``: prepares that tree's benchmark database and starts that tree's keyhive
  server, checks it, and prints its URL and tokens; the server runs until stdin closes.

Every answer is one JSON line on stdout (the first names the files imported, so the
caller can check which code ran); anything the tree prints goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import inspect
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Any


def _say(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def _hits(out: IO[str], sizes: list[int]) -> None:
    import keyhive
    from benchmarks import _inproc as imported
    from benchmarks.peers._common import time_sync

    # That tree's module, read by name: the two trees import these names from different places.
    _inproc: Any = imported

    # The baseline's cache_kwargs also takes a list for notes.
    takes = len(inspect.signature(_inproc.cache_kwargs).parameters)
    cache = dict(_inproc.cache_kwargs(True) if takes == 1 else _inproc.cache_kwargs(True, []))

    hives: dict[int, tuple[Any, str]] = {}
    try:
        for n in sizes:
            store = _inproc.MemoryStore()
            _inproc._fill(store, n - 1)
            hive = _inproc.KeyHive(
                settings=_inproc.Settings(hasher="scrypt", peppers=_inproc.PEPPERS),
                store=store,
                **cache,
            )
            hives[n] = (hive, "")
            token = hive.issue_secret(
                hive.create_client("benchmark").client_id, scopes=_inproc.SCOPES
            ).token
            hives[n] = (hive, token)
            assert hive.verify(token).valid  # the one miss: real scrypt, then cached
        _say(out, {"keyhive_file": keyhive.__file__, "benchmarks_file": _inproc.__file__})
        for line in sys.stdin:
            ask = json.loads(line)
            hive, token = hives[ask["n"]]
            timed = time_sync(functools.partial(hive.verify, token), ask["seconds"], 1)
            _say(out, {"rate": timed["rounds"][0]})
        for hive, token in hives.values():
            assert hive.verify(token).valid
    finally:
        for hive, _token in hives.values():
            hive.close()


def _serve(out: IO[str]) -> None:
    import keyhive
    from benchmarks import _http

    with tempfile.TemporaryDirectory(prefix="keyhive-compare-") as tmp:
        db = Path(tmp) / "bench.db"
        tokens = _http._prepare(db)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHIVE_")}
        env["KEYHIVE_DATABASE_URL"] = f"sqlite:///{db}"
        with _http.serve(["--factory", _http.SERVER_APP], env, Path(tmp) / "server.log") as url:
            _http._check(url, tokens)
            _say(
                out,
                {
                    "keyhive_file": keyhive.__file__,
                    "benchmarks_file": _http.__file__,
                    "url": url,
                    "tokens": tokens,
                },
            )
            sys.stdin.read()  # until the caller closes it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--hits", action="store_true")
    mode.add_argument("--serve", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000])
    args = parser.parse_args()
    out, sys.stdout = sys.stdout, sys.stderr
    with contextlib.suppress(BrokenPipeError):
        if args.hits:
            _hits(out, args.sizes)
        else:
            _serve(out)


if __name__ == "__main__":
    main()
