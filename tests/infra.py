"""Throwaway PostgreSQL and Redis servers, started from the machine's own binaries.

Session-scoped: one PostgreSQL cluster (initdb into a temporary directory, owned by an
unprivileged user when the tests run as root, since initdb refuses root) and one Redis,
both on free loopback ports. Without the binaries the tests that need them are skipped,
except in CI (``CI=true``), where a missing server is a failure: CI must test them.
"""

from __future__ import annotations

import contextlib
import glob
import importlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

PG_USER = "keyhive"
TEST_OS_USER = "keyhive-test"
_counter = itertools.count()
T = TypeVar("T")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip (on a developer's machine) or fail (in CI) because a server cannot run here."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: required, not skipped)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")
        time.sleep(0.05)


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], log: Path, what: str, poll: float = 0.1
) -> None:
    """Poll ``url`` until it answers 200; fail the test, showing ``log``, if ``process``
    exits first or 30 s pass (the process is killed then, so it cannot linger)."""
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            pytest.fail(f"{what} exited:\n{log.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            process.kill()
            process.wait(10)
            pytest.fail(f"{what} did not start in 30 s:\n{log.read_text()}")
        time.sleep(poll)


def pg_bindir() -> Path | None:
    """Where initdb and pg_ctl live: on PATH, else Debian's newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(candidates[-1]).parent if candidates else None


def redis_binary() -> str | None:
    return shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.access(p, os.X_OK)),
        None,
    )


def _os_user() -> str | None:
    """The unprivileged user to run PostgreSQL as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", TEST_OS_USER):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_OS_USER],
        check=True,
        capture_output=True,
    )
    return TEST_OS_USER


class PostgresServer:
    """A PostgreSQL cluster in a temporary directory, listening on 127.0.0.1 only."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.user = _os_user()
        self.root = Path(tempfile.mkdtemp(prefix="keyhive-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        prefix: Sequence[str] = ("runuser", "-u", self.user, "--") if self.user else ()
        return subprocess.run(
            [*prefix, *args], check=True, capture_output=True, text=True, timeout=60
        )

    def start(self) -> None:
        """initdb, then pg_ctl start; a failed start leaves no directory behind."""
        try:
            self._initdb_and_start()
        except BaseException:
            self.stop()
            raise

    def _initdb_and_start(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            PG_USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self) -> None:
        if self.data.exists():
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> list[tuple[Any, ...]]:
        """Run one statement in autocommit mode (CREATE DATABASE cannot run in a transaction)."""
        import psycopg

        dsn = f"host=127.0.0.1 port={self.port} user={PG_USER} dbname={database}"
        with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(sql.encode())
            return list(cur.fetchall()) if cur.description else []

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its name."""
        name = f"{prefix}_{os.getpid()}_{next(_counter)}"
        self.execute(f'CREATE DATABASE "{name}"')
        return name


class RedisServer:
    """A redis-server subprocess without persistence; it can be killed and restarted."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (again, on the same port); a Redis that does not listen is killed."""
        self._proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(self.port)
        except BaseException:
            self.kill()
            raise

    def kill(self) -> None:
        """Stop at once, as a crash would (SIGKILL); the data is gone."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url)


def _require(binary: T | None, missing: str, client: str, extra: str) -> T:
    """The server's binary, once its Python client imports too; else :func:`unavailable`."""
    if binary is None:
        unavailable(missing)
    try:
        importlib.import_module(client)
    except ImportError:
        unavailable(f"the {client} client is not installed (pip install 'keyhive[{extra}]')")
    assert binary is not None
    return binary


def start_postgres() -> PostgresServer:
    missing = "PostgreSQL binaries (initdb, pg_ctl) not found"
    server = PostgresServer(_require(pg_bindir(), missing, "psycopg", "postgres"))
    server.start()
    return server


def start_redis() -> RedisServer:
    """A running Redis; restartable after :meth:`RedisServer.kill`."""
    server = RedisServer(_require(redis_binary(), "redis-server not found", "redis", "redis"))
    server.start()
    return server


def _running_redis() -> Iterator[RedisServer]:
    server = start_redis()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the whole run."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One throwaway Redis for the whole run (tests that kill Redis start their own)."""
    yield from _running_redis()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis of this test's own, which it may kill and restart on the same port."""
    yield from _running_redis()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """The URL of a fresh, empty database on the session's PostgreSQL."""
    return postgres.url(postgres.create_database())


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    if not redis_server.running:  # a test that killed it without restarting
        redis_server.start()
    redis_server.client().flushall()
    return redis_server.url
