"""A real ``keyhive serve`` (or uvicorn) process on a loopback port, over a SQLite file.

For tests that need what only a real server shows: the HTTP parser, worker processes,
resident memory, a browser.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.infra import free_port, wait_until_up

from .leakscan import SCANNER

KEYHIVE = Path(sys.executable).with_name("keyhive")


@dataclass
class Served:
    base: str
    port: int
    admin_token: str
    database_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def rss_kib(self) -> int:
        """The server process's resident memory (VmRSS), in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS line")  # pragma: no cover

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}


def environment(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHIVE_")}
    env.update(KEYHIVE_DATABASE_URL=database_url, KEYHIVE_HASHING_PROFILE="cheapest", **extra)
    return env


@contextlib.contextmanager
def serving(
    tmp_path: Path,
    args: Sequence[str] = (),
    *,
    uvicorn: Sequence[str] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Served]:
    """``keyhive init`` then ``keyhive serve ARGS`` (or ``python -m uvicorn UVICORN``)."""
    database_url = f"sqlite:///{tmp_path / 'keyhive.db'}"
    variables = {**environment(database_url), **(env or {})}
    init = subprocess.run(
        [str(KEYHIVE), "init", "--json"], env=variables, capture_output=True, check=True
    )
    admin_token = json.loads(init.stdout)["admin_token"]
    port = free_port()
    if uvicorn is None:
        command = [str(KEYHIVE), "serve", "--port", str(port), *args]
    else:
        command = [sys.executable, "-m", "uvicorn", *uvicorn, "--port", str(port)]
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=variables, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, log)
        yield Served(base, port, admin_token, database_url, process, log)
    finally:
        stop(process)
        SCANNER.check("server log", log.read_text(errors="replace"))


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 15 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    wait_until_up(f"{base}/readyz", process, log, "the server")
