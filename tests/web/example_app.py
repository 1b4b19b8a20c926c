"""examples/articles_api served by uvicorn in its own process, beside a ``keyhive serve``.

The example checks keys in the same SQLite database as the keyhive it asks for portal
links (as its README runs it), so a change made in the portal reaches it through the
database's change feed, as it would reach any other node.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.infra import free_port, wait_until_up
from tests.web.browser import Served

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Example:
    base: str
    log: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def serve_example(served: Served, tmp: Path) -> Example:
    port = free_port()
    env = {
        **os.environ,
        "KEYHIVE_HASHING_PROFILE": "cheapest",
        "KEYHIVE_DATABASE_URL": served.database_url,
        "KEYHIVE_URL": served.base,
        "KEYHIVE_ADMIN_TOKEN": served.admin_token,
    }
    for name in ("KEYHIVE_REDIS_URL", "KEYHIVE_PEPPERS", "KEYHIVE_REMOTE_URL"):
        env.pop(name, None)
    log = tmp / "example.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "examples.articles_api.app:create_app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    example = Example(f"http://127.0.0.1:{port}", log, process)
    wait_until_up(f"{example.base}/articles", process, log, "the example app")
    return example


@pytest.fixture(scope="module")
def example(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    app = serve_example(served, tmp_path_factory.mktemp("example"))
    try:
        yield app
    finally:
        app.stop()
