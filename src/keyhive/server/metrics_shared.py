"""Metrics summed over worker processes (``keyhive serve --workers N``).

Each worker keeps its plain tallies (the hot path's cost stays a dict update) and, from
a background thread, writes them once a second to ``<dir>/<pid>.json``; a scrape of any
worker adds its own live tallies to every other worker's last file. Other workers'
figures are at most a second old. A worker that exits leaves its file, so counters never
go backwards when uvicorn replaces a worker. ``keyhive serve`` points
``KEYHIVE_METRICS_DIR`` at a temporary directory it removes on exit; the same variable
works for ``uvicorn --workers``, with an empty directory per run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

log = logging.getLogger(__name__)
INTERVAL: Final = 1.0


@dataclass
class Tallies:
    """One process's counts: verifications, requests, and latency buckets with their sum."""

    verified: dict[tuple[str, str], int] = field(default_factory=dict)
    requests: dict[tuple[str, str, int], int] = field(default_factory=dict)
    latency: dict[tuple[str, str], tuple[list[int], float]] = field(default_factory=dict)

    def add(self, other: Tallies) -> None:
        for key, count in other.verified.items():
            self.verified[key] = self.verified.get(key, 0) + count
        for rkey, count in other.requests.items():
            self.requests[rkey] = self.requests.get(rkey, 0) + count
        for lkey, (counts, total) in other.latency.items():
            mine = self.latency.get(lkey)
            if mine is None:
                self.latency[lkey] = (list(counts), total)
            else:
                self.latency[lkey] = (
                    [a + b for a, b in zip(mine[0], counts, strict=True)],
                    mine[1] + total,
                )

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": [[*k, n] for k, n in self.verified.items()],
            "requests": [[*k, n] for k, n in self.requests.items()],
            "latency": [[*k, counts, total] for k, (counts, total) in self.latency.items()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], buckets: int) -> Tallies:
        tallies = cls()
        for endpoint, code, n in data["verified"]:
            tallies.verified[(str(endpoint), str(code))] = int(n)
        for route, method, status, n in data["requests"]:
            tallies.requests[(str(route), str(method), int(status))] = int(n)
        for route, method, counts, total in data["latency"]:
            if len(counts) == buckets:
                tallies.latency[(str(route), str(method))] = ([int(c) for c in counts], total)
        return tallies


class SharedTallies:
    """This process's tallies on disk, and the sum over every process's files."""

    def __init__(self, directory: str | os.PathLike[str], buckets: int) -> None:
        self.directory = Path(directory)
        self.buckets = buckets
        self.path = self.directory / f"{os.getpid()}.json"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def write(self, own: Tallies) -> None:
        """Replace this process's file atomically (readers see the old or the new)."""
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(own.to_json(), separators=(",", ":")))
        os.replace(temporary, self.path)

    def total(self, own: Tallies) -> Tallies:
        """``own`` (live) plus the last file of every other process."""
        result = Tallies()
        result.add(own)
        for path in self.directory.glob("*.json"):
            if path == self.path:
                continue
            try:
                result.add(Tallies.from_json(json.loads(path.read_text()), self.buckets))
            except (OSError, ValueError, TypeError, KeyError):
                log.warning("skipped unreadable metrics file %s", path.name)
        return result

    def start(self, snapshot: Any) -> None:
        """Write ``snapshot()`` every second from a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(INTERVAL):
                self._write_quietly(snapshot())

        self._thread = threading.Thread(target=loop, name="keyhive-metrics", daemon=True)
        self._thread.start()

    def stop(self, snapshot: Any) -> None:
        """Stop the thread and write the final tallies."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(5)
        self._write_quietly(snapshot())

    def _write_quietly(self, tallies: Tallies) -> None:
        with contextlib.suppress(OSError):
            self.write(tallies)
