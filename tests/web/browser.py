"""Playwright on Debian's chromium, against a real ``keyhive serve`` on a free port.

Never ``playwright install``: the browser is the machine's ``/usr/bin/chromium`` (CI
installs it with apt). Without it, or without the playwright package, the tests skip,
except in CI, where they fail (see :func:`tests.infra.unavailable`).

Every page is watched: console errors, uncaught page errors and requests to any host
but the keyhive under test are collected, and a test fails if there are any.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.infra import free_port, unavailable, wait_until_up

CHROMIUM = Path(os.environ.get("KEYHIVE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
KEYHIVE = Path(sys.executable).with_name("keyhive")


@dataclass
class Served:
    """A running ``keyhive serve``: its address, database, first admin token and log."""

    base: str
    database_url: str
    admin_token: str
    admin_secret_id: str
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


def serve_keyhive(
    tmp: Path, executable: Path = KEYHIVE, env: dict[str, str] | None = None
) -> Served:
    """``keyhive init`` on a fresh SQLite file, then ``keyhive serve`` on a free port."""
    db_url = f"sqlite:///{tmp / 'keyhive.db'}"
    environment = {**os.environ, "KEYHIVE_HASHING_PROFILE": "cheapest", **(env or {})}
    for name in ("KEYHIVE_DATABASE_URL", "KEYHIVE_REDIS_URL", "KEYHIVE_PEPPERS"):
        environment.pop(name, None)
    init = subprocess.run(
        [str(executable), "--db", db_url, "init", "--json"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    admin = json.loads(init.stdout)
    port = free_port()
    log = tmp / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(executable), "--db", db_url, "serve", "--port", str(port), "--log-level", "info"],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(
        f"http://127.0.0.1:{port}", db_url, admin["admin_token"], admin["secret_id"], log, process
    )
    wait_until_up(f"{served.base}/healthz", process, log, "keyhive serve")
    return served


@dataclass
class Watch:
    """What the pages of one test did wrong: console errors, page errors, foreign requests.

    ``also`` names more origins a test may visit (an app beside keyhive). Chromium logs
    every page answered with a 4xx or 5xx as a console error; a test that loads such a
    page on purpose says so first with :meth:`expect_error`, and only errors nobody
    expected fail it.
    """

    allowed_origin: str
    also: tuple[str, ...] = ()
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def expect_error(self, status: int) -> None:
        """The next page load answered ``status`` is intended: its console error is not."""
        self.expected.append(f"the server responded with a status of {status}")

    def unexpected(self) -> list[str]:
        """The errors left once each expected one has been matched (once each)."""
        left = list(self.errors)
        for text in self.expected:
            match = next((e for e in left if text in e), None)
            assert match is not None, f"expected a console error with {text!r}: {self.errors}"
            left.remove(match)
        return left

    def attach(self, context: Any) -> None:
        origins = {self.allowed_origin, *self.also}

        def route(route: Any) -> None:
            url = route.request.url
            parts = urlsplit(url)
            if f"{parts.scheme}://{parts.netloc}" in origins or parts.scheme in (
                "data",
                "about",
                "blob",
            ):
                route.continue_()
            else:
                self.foreign.append(url)
                route.abort()

        context.route("**/*", route)

        def on_page(page: Any) -> None:
            page.on(
                "console",
                lambda msg: (
                    self.errors.append(f"console {msg.type}: {msg.text}")
                    if msg.type == "error"
                    else None
                ),
            )
            page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))

        context.on("page", on_page)


def launch(playwright: Any) -> Any:
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} not found (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A Debian chromium for one test module.

    Module-scoped, not session-scoped: Playwright's sync API keeps an asyncio loop marked
    as running while it is open, which would break every async test that follows.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} not found (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A ``keyhive serve`` on a fresh SQLite database for this module's tests."""
    server = serve_keyhive(tmp_path_factory.mktemp("served"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def watch(served: Served) -> Watch:
    return Watch(served.base)


@pytest.fixture
def page(chromium: Any, served: Served, watch: Watch) -> Iterator[Any]:
    """A fresh browser context and page on the served keyhive; fails on anything watched."""
    context = chromium.new_context(base_url=served.base, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served.base)
    watch.attach(context)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
    assert watch.unexpected() == [], watch.errors
    assert watch.foreign == [], f"requests to other hosts: {watch.foreign}"
