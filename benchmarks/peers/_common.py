"""Timing and output helpers shared by the peer runners.

Each runner executes inside its peer's own venv, so this module uses the standard
library only and is imported from the runner's directory (``sys.path[0]``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from typing import Any

ROUNDS = 3


def parse_args(description: str) -> argparse.Namespace:
    """``--n`` keys in the store and ``--seconds`` of timed verification in total."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--n", type=int, required=True, help="keys in the store")
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds in total")
    return parser.parse_args()


def time_sync(
    call: Callable[[], object], seconds: float, rounds: int = ROUNDS, min_calls: int = 1
) -> dict[str, Any]:
    """Call repeatedly for ``seconds`` split in rounds; the median rate is the result.

    A round ends at its deadline but not before ``min_calls`` calls (for slow hashes).
    """
    rates = []
    for _ in range(rounds):
        count, batch = 0, 1
        start = time.perf_counter()
        deadline = start + seconds / rounds
        while True:
            for _ in range(batch):
                call()
            count += batch
            now = time.perf_counter()
            if now >= deadline and count >= min_calls:
                break
            batch = min(batch * 2, 1000)
        rates.append(count / (now - start))
    return {"ops_per_sec": statistics.median(rates), "rounds": rates}


async def time_async(call: Callable[[], Awaitable[object]], seconds: float) -> dict[str, Any]:
    """The coroutine twin of :func:`time_sync`, awaited inside one running event loop."""
    rates = []
    for _ in range(ROUNDS):
        count, batch = 0, 1
        start = time.perf_counter()
        deadline = start + seconds / ROUNDS
        while True:
            for _ in range(batch):
                await call()
            count += batch
            now = time.perf_counter()
            if now >= deadline:
                break
            batch = min(batch * 2, 1000)
        rates.append(count / (now - start))
    return {"ops_per_sec": statistics.median(rates), "rounds": rates}


def emit(peer: str, dist: str, **fields: Any) -> None:
    """Print the one JSON line the harness reads (the last line of stdout)."""
    fields = {"peer": peer, "package": dist, "version": version(dist), **fields}
    sys.stdout.write(json.dumps(fields) + "\n")
