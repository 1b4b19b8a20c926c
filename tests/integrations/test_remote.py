"""RemoteVerifier against the real keyhive server app: over ASGI in-process, and over TCP
through uvicorn for the blocking variant that Flask and Django use."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from keyhive import KeyHive
from keyhive.core.credentials import PairCredential, TokenCredential
from keyhive.core.model import Code
from keyhive.integrations import VerifierUnavailable
from keyhive.integrations._cache import VerdictCache
from keyhive.integrations.remote import AsyncRemoteVerifier, RemoteVerifier
from keyhive.server import create_app
from keyhive.service.hive import VERIFY_SCOPE

from .apps import bearer, fastapi_app, flask_app
from .conftest import Blog
from .servers import free_port, serving


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def caller(hive: KeyHive) -> str:
    """This API's own keyhive secret: it may ask keyhive to verify."""
    gateway = hive.create_client("articles-api")
    return hive.issue_secret(gateway.client_id, scopes=[VERIFY_SCOPE]).token


class Counter:
    def __init__(self) -> None:
        self.requests = 0

    async def __call__(self, request: httpx.Request) -> None:
        self.requests += 1


@pytest.fixture
async def remote(hive: KeyHive, caller: str) -> AsyncIterator[tuple[AsyncRemoteVerifier, Counter]]:
    counter = Counter()
    transport = httpx.ASGITransport(app=create_app(hive))
    client = httpx.AsyncClient(transport=transport, event_hooks={"request": [counter]})
    verifier = AsyncRemoteVerifier("http://keyhive.test/", caller, client=client)
    yield verifier, counter
    await verifier.aclose()


@pytest.mark.anyio
async def test_valid_answer_carries_the_principal(
    remote: tuple[AsyncRemoteVerifier, Counter], blog: Blog, hive: KeyHive
) -> None:
    verifier, _ = remote
    verdict = await verifier.verify(TokenCredential(blog.writer), ["articles:create"])
    assert verdict.code is Code.VALID
    who = verdict.principal
    assert who is not None
    assert (who.client_id, who.secret_id) == (blog.client.client_id, blog.writer_id)
    assert who.scopes == ("articles:create", "articles:update")
    assert (who.owner, who.name, dict(who.metadata)) == ("alice", "blog", {"plan": "pro"})
    pair = await verifier.verify(PairCredential(blog.client.client_id, blog.reader), ["users:read"])
    assert pair.valid and pair.secret_id != blog.writer_id


@pytest.mark.anyio
async def test_codes_come_back(remote: tuple[AsyncRemoteVerifier, Counter], blog: Blog) -> None:
    verifier, _ = remote
    scoped = await verifier.verify(TokenCredential(blog.reader), ["articles:create"])
    assert scoped.code is Code.INSUFFICIENT_SCOPE
    assert scoped.client_id == blog.client.client_id
    unknown = await verifier.verify(TokenCredential(blog.reader[:-2] + "zz"))
    assert (unknown.code, unknown.principal) == (Code.NOT_FOUND, None)


@pytest.mark.anyio
async def test_answers_are_cached_briefly(
    remote: tuple[AsyncRemoteVerifier, Counter], blog: Blog, hive: KeyHive
) -> None:
    verifier, counter = remote
    now = [0.0]
    verifier.cache = VerdictCache(ttl=5.0, monotonic=lambda: now[0])
    for _ in range(3):
        assert (await verifier.verify(TokenCredential(blog.writer), ["articles:create"])).valid
    assert counter.requests == 1
    await verifier.verify(TokenCredential(blog.writer), ["articles:update"])  # another question
    assert counter.requests == 2

    hive.revoke(blog.writer_id)
    stale = await verifier.verify(TokenCredential(blog.writer), ["articles:create"])
    assert stale.valid  # within the TTL: the documented price of caching
    now[0] = 5.0
    fresh = await verifier.verify(TokenCredential(blog.writer), ["articles:create"])
    assert fresh.code is Code.REVOKED
    assert counter.requests == 3


@pytest.mark.anyio
async def test_a_caller_without_keyhive_verify_fails_closed(hive: KeyHive, blog: Blog) -> None:
    transport = httpx.ASGITransport(app=create_app(hive))
    verifier = AsyncRemoteVerifier(
        "http://keyhive.test", blog.reader, client=httpx.AsyncClient(transport=transport)
    )
    with pytest.raises(VerifierUnavailable, match="403"):
        await verifier.verify(TokenCredential(blog.writer))
    await verifier.aclose()


def test_fastapi_app_protected_through_a_remote_keyhive(
    hive: KeyHive, blog: Blog, caller: str
) -> None:
    transport = httpx.ASGITransport(app=create_app(hive))
    verifier = AsyncRemoteVerifier(
        "http://keyhive.test", caller, client=httpx.AsyncClient(transport=transport)
    )
    with TestClient(fastapi_app(verifier)) as client:
        ok = client.post("/articles", headers=bearer(blog.writer))
        refused = client.post("/articles", headers=bearer(blog.reader))
        anonymous = client.post("/articles")
    assert ok.status_code == 200
    assert ok.json()["client_id"] == blog.client.client_id
    assert refused.status_code == 403
    assert anonymous.status_code == 401


@pytest.fixture
def keyhive_url(hive: KeyHive) -> Iterator[str]:
    with serving(create_app(hive)) as url:
        yield url


def test_flask_app_protected_through_a_keyhive_server(
    keyhive_url: str, blog: Blog, caller: str, hive: KeyHive
) -> None:
    pytest.importorskip("flask")
    verifier = RemoteVerifier(keyhive_url, caller, ttl=0)
    client = flask_app(verifier).test_client()
    ok = client.post("/articles", headers=bearer(blog.writer))
    assert ok.status_code == 200
    assert ok.get_json()["secret_id"] == blog.writer_id
    assert client.post("/articles", headers=bearer(blog.reader)).status_code == 403
    hive.revoke(blog.writer_id)
    revoked = client.post("/articles", headers=bearer(blog.writer))
    assert revoked.status_code == 401
    assert revoked.get_json()["code"] == "REVOKED"
    verifier.close()


def test_unreachable_keyhive_is_unavailable() -> None:
    verifier = RemoteVerifier(f"http://127.0.0.1:{free_port()}", "kh_x", timeout=2)
    with pytest.raises(VerifierUnavailable, match="cannot reach"):
        verifier.verify(TokenCredential("kh_anything"))
    client = flask_app(verifier).test_client()
    down = client.get("/users", headers=bearer("kh_anything"))
    assert down.status_code == 503


def test_cache_is_bounded_and_never_keeps_the_secret() -> None:
    from keyhive.integrations import Verdict

    cache = VerdictCache(size=2, ttl=5)
    token = "kh_" + "S" * 40
    keys = [cache.key(TokenCredential(f"{token}{i}"), [], None) for i in range(3)]
    for key in keys:
        cache.put(key, Verdict(Code.NOT_FOUND))
    assert len(cache) == 2
    assert cache.get(keys[0]) is None and cache.get(keys[2]) is not None
    assert all(token.encode() not in key for key in keys)
    throttled = cache.key(TokenCredential(token), [], None)
    cache.put(throttled, Verdict(Code.NOT_FOUND, retry_after=3))
    assert cache.get(throttled) is None
    assert cache.key(TokenCredential(token), ["a:b", "c:d"], None) == cache.key(
        TokenCredential(token), ["c:d", "a:b"], None
    )
    assert cache.key(TokenCredential(token), [], "10.0.0.1") != cache.key(
        TokenCredential(token), [], None
    )


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={"valid": True}),  # no code
        httpx.Response(200, json={"code": "MAYBE"}),
        httpx.Response(200, text="<html>"),
        httpx.Response(502),
    ],
)
def test_an_unreadable_server_answer_fails_closed(answer: httpx.Response) -> None:
    transport = httpx.MockTransport(lambda request: answer)
    verifier = RemoteVerifier(
        "http://keyhive.test", "kh_x", client=httpx.Client(transport=transport)
    )
    with pytest.raises(VerifierUnavailable):
        verifier.verify(TokenCredential("kh_anything"))


def test_unreadable_credentials_count_as_unknown() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(422, json={}))
    verifier = RemoteVerifier(
        "http://keyhive.test", "kh_x", client=httpx.Client(transport=transport)
    )
    assert verifier.verify(TokenCredential("kh_anything")).code is Code.NOT_FOUND


def test_cache_is_bounded_in_bytes_not_only_entries() -> None:
    """One valid token asked about with many scope sets or addresses: each verdict carries
    the client's metadata (up to 16 KiB), yet the cache stays under its byte budget."""
    from keyhive.integrations import Principal, Verdict
    from keyhive.integrations._cache import weigh

    metadata = {"blob": "x" * 16_000}
    principal = Principal("c", "s" * 16, ("a:b",), metadata=metadata)
    cache = VerdictCache(size=10_000, ttl=5, max_bytes=1_000_000)
    for i in range(500):
        key = cache.key(TokenCredential("kh_" + "S" * 40), [], f"10.0.{i // 256}.{i % 256}")
        cache.put(key, Verdict(Code.VALID, principal))
    assert len(cache) < 500
    assert len(cache) * weigh(b"", Verdict(Code.VALID, principal)) <= 1_000_000
    assert len(cache) >= 1_000_000 // (2 * weigh(b"", Verdict(Code.VALID, principal)))
