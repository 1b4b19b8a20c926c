"""One figure of ``--compare`` counted in instructions, for one tree, under callgrind.

Started by benchmarks/_compare.py as ``valgrind --tool=callgrind
--toggle-collect=functools_reduce python -P compare_count.py FIGURE N`` with PYTHONPATH
set to ``<tree>:<tree>/src``. It builds that tree's benchmark database (its own
``benchmarks._http._prepare``), a KeyHive on it and that tree's app, answers each
request a few hundred times so that caches and lazy imports are settled, then answers it
``N`` more times inside one ``functools.reduce``: callgrind counts instructions only
inside that call, so start-up, imports and the warm-up are left out and the count
divided by ``N`` is the cost of one request on this interpreter. Instructions do not
depend on how busy the machine is, which wall-clock figures here do by a fifth.

Requests go to the ASGI app directly (no socket, no uvicorn), each driven to its end
by hand: the routes measured finish without waiting on anything.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

FIGURES = ("hit", "auth", "verify", "flood")
WARMUP = 300


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
    }


def _request(
    app: Any, scope: dict[str, Any], body: bytes, statuses: list[int]
) -> tuple[Callable[[], None], Callable[[], Awaitable[None]]]:
    """The request driven by hand (for the count), and awaited (for the warm-up, whose
    first answers may wait on a worker thread)."""
    message = {"type": "http.request", "body": body, "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    async def send(sent: dict[str, Any]) -> None:
        if sent["type"] == "http.response.start":
            statuses.append(sent["status"])

    def once() -> None:
        coroutine = app(dict(scope), receive, send)
        try:
            coroutine.send(None)
        except StopIteration:
            return
        coroutine.close()
        raise RuntimeError("the request waited on something: it cannot be counted by hand")

    async def awaited() -> None:
        await app(dict(scope), receive, send)

    return once, awaited


async def _count(
    figure: str, n: int, hive: Any, tokens: dict[str, str], statuses: list[int]
) -> None:
    """Warm up, then answer ``n`` requests inside the one call callgrind counts. Run on
    the event loop, so code that asks for the running loop finds it."""
    from keyhive.server.app import create_app

    step: Callable[[], None]
    warm: Callable[[], Awaitable[None]]
    if figure == "hit":
        token = tokens["token"]

        def verify() -> None:
            statuses.append(200 if hive.verify(token).valid else 401)

        async def verify_now() -> None:
            verify()

        step, warm = verify, verify_now

    else:
        app = create_app(hive, tarpit=0)
        bearer = f"Bearer {tokens['token']}".encode()
        if figure == "auth":
            scope = _scope("GET", "/v1/auth", [(b"authorization", bearer)])
            step, warm = _request(app, scope, b"", statuses)
        elif figure == "flood":
            wrong = f"Bearer {tokens['wrong']}".encode()
            scope = _scope("GET", "/v1/auth", [(b"authorization", wrong)])
            step, warm = _request(app, scope, b"", statuses)
        else:
            body = json.dumps({"token": tokens["token"]}).encode()
            headers = [
                (b"authorization", f"Bearer {tokens['admin']}".encode()),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
            step, warm = _request(app, _scope("POST", "/v1/verify", headers), body, statuses)
    for _ in range(WARMUP):
        await warm()
    del statuses[:]  # the warm-up's first answers may differ (a flood's first refusals)
    # Ready: the caller turns callgrind's instrumentation on (it starts off, which makes
    # start-up and imports five times faster) and then says go.
    print("ready", flush=True)
    sys.stdin.readline()
    functools.reduce(lambda _acc, _i: step(), range(n), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("figure", choices=FIGURES)
    parser.add_argument("n", type=int)
    args = parser.parse_args()

    import keyhive
    from benchmarks import _http

    with tempfile.TemporaryDirectory(prefix="keyhive-count-") as tmp:
        db = Path(tmp) / "bench.db"
        tokens = _http._prepare(db)
        hive = keyhive.KeyHive(f"sqlite:///{db}")
        statuses: list[int] = []
        asyncio.run(_count(args.figure, args.n, hive, tokens, statuses))
        hive.close()
    expected = 401 if args.figure == "flood" else 200
    wrong = sorted({s for s in statuses if s != expected})
    print(
        json.dumps(
            {
                "keyhive_file": keyhive.__file__,
                "benchmarks_file": _http.__file__,
                "answered": len(statuses),
                "unexpected_statuses": wrong,
            }
        )
    )
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
