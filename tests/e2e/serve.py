"""A real ``keyhive serve`` process for end-to-end tests: start, restart, stop.

Cheapest hashing (tests only); the database and any extra options are the test's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.infra import free_port, wait_until_up

KEYHIVE = Path(sys.executable).with_name("keyhive")


class KeyhiveServe:
    """One ``keyhive serve`` on a free loopback port; :meth:`restart` keeps the port."""

    def __init__(
        self, db_url: str, *args: str, env: dict[str, str] | None = None, workers: int = 1
    ) -> None:
        self.db_url = db_url
        self.args: Sequence[str] = args
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = {**os.environ, "KEYHIVE_HASHING_PROFILE": "cheapest", **(env or {})}
        self.log = Path(tempfile.mkdtemp(prefix="keyhive-serve-")) / "serve.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> KeyhiveServe:
        command = [str(KEYHIVE), "--db", self.db_url, "serve", "--port", str(self.port)]
        command += ["--log-level", "warning", "--workers", str(self.workers), *self.args]
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until_up(f"{self.base}/healthz", self._process, self.log, "keyhive serve", 0.05)
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)

    def kill(self) -> None:
        """Stop at once, as a crash would (SIGKILL): no shutdown code runs."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> KeyhiveServe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
