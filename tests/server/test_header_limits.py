"""Request heads are capped in the HTTP parser: 8 KiB a header, 32 KiB in all, 8 KiB of target.

Against a real ``keyhive serve`` (httptools) and a real uvicorn with the h11 protocol,
over raw sockets, since an HTTP client library would refuse to send such heads.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from keyhive.server.protocol import H11, MAX_HEAD, MAX_HEADER, MAX_TARGET

from .serving import Served, serving

pytestmark = pytest.mark.slow
MIB = 1 << 20


def exchange(port: int, pieces: Iterable[bytes]) -> tuple[int, dict[str, str], bytes]:
    """Send a request in pieces, then read one response: (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        try:
            for piece in pieces:
                sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused early; the answer is waiting to be read
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed before an answer: {data!r}"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            assert chunk
            body += chunk
        return int(status_line.split()[1]), headers, body


def raw_request(
    target: str = "/v1/auth", headers: Iterable[bytes] = (), body: bytes = b""
) -> bytes:
    method = b"POST" if body else b"GET"
    lines = [method + b" " + target.encode() + b" HTTP/1.1", b"Host: 127.0.0.1", *headers]
    if body:
        lines += [b"Content-Type: application/json", b"Content-Length: %d" % len(body)]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def trickle(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("limits")) as server:
        yield server


@pytest.fixture(scope="module")
def served_h11(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    app = ["keyhive.server.app:create_app_from_env", "--factory", "--http", H11]
    with serving(tmp_path_factory.mktemp("h11"), uvicorn=app) as server:
        yield server


def test_600_distinct_1_mib_headers_get_431_and_memory_stays_flat(served: Served) -> None:
    junk = b"Authorization: Bearer kh_AAAAAAAAAAAAAAAA_" + b"x" * 49
    for _ in range(20):  # warm up what a first request allocates
        assert exchange(served.port, [raw_request(headers=[junk])])[0] == 401
    before = served.rss_kib()

    def attack(i: int) -> int:
        header = b"X-Real-IP: %06d" % i + b"9" * MIB + b"\r\n"
        return exchange(served.port, [raw_request(headers=[junk, header])])[0]

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(attack, range(600)))
    grown = served.rss_kib() - before
    assert statuses == [431] * 600
    assert grown <= 32 * 1024, f"RSS grew by {grown} KiB"
    # The server still answers normally afterwards.
    assert exchange(served.port, [raw_request(headers=[junk])])[0] == 401


@pytest.mark.parametrize("server", ["served", "served_h11"])
def test_limits(server: str, request: pytest.FixtureRequest) -> None:
    port = request.getfixturevalue(server).port
    just = b"X-A: " + b"a" * (MAX_HEADER - 3)
    over = b"X-A: " + b"a" * (MAX_HEADER - 2)
    status, headers, body = exchange(port, [raw_request(headers=[over])])
    assert status == 431
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    assert json.loads(body)["status"] == 431
    assert exchange(port, [raw_request(headers=[just])])[0] == 401  # read, then refused as no key
    # Together: three headers just under the per-header limit pass, five do not.
    many = [b"X-%d: " % i + b"b" * (MAX_HEADER - 10) for i in range(5)]
    assert exchange(port, [raw_request(headers=many[:3])])[0] == 401
    assert exchange(port, [raw_request(headers=many)])[0] == 431
    assert exchange(port, [raw_request(headers=[b"X-B: " + b"c" * MAX_HEAD])])[0] == 431
    # The request target has its own limit: 414.
    long_target = "/v1/auth?scope=a:b&x=" + "y" * MAX_TARGET
    assert exchange(port, [raw_request(target=long_target)])[0] == 414


def test_a_head_trickling_in_is_refused_once_it_passes_the_limit(served: Served) -> None:
    data = raw_request(headers=[b"X-Real-IP: " + b"1" * (4 * MIB)])
    status, _, _ = exchange(served.port, trickle(data, 1000))
    assert status == 431


def test_large_bodies_still_pass(served: Served) -> None:
    """Bodies are fed to the parser in slices too; they arrive whole."""
    metadata = {f"k{i}": "v" * 100 for i in range(140)}  # about 15 KiB
    body = json.dumps({"name": "big", "metadata": metadata}).encode()
    auth = b"Authorization: Bearer " + served.admin_token.encode()
    status, _, answer = exchange(served.port, [raw_request("/v1/clients", [auth], body)])
    assert status == 201, answer
    assert json.loads(answer)["metadata"] == metadata


def test_an_uncapped_uvicorn_would_have_read_the_whole_head(tmp_path: Path) -> None:
    """The control: plain uvicorn (httptools) reads a 1 MiB header and answers the app."""
    app = ["keyhive.server.app:create_app_from_env", "--factory", "--http", "httptools"]
    with serving(tmp_path, uvicorn=app) as plain:
        header = b"X-Real-IP: " + b"9" * MIB
        assert exchange(plain.port, [raw_request(headers=[header])])[0] == 401
