"""The gate's bearer-token shortcut answers exactly as the general path does.

check() and check_async() hand a bearer token for this process's pipeline straight to
it; any other verifier goes through credential parsing. A subclass of the local
verifiers is not the exact type, so it takes the general path: both must agree on every
header a client can send.
"""

from __future__ import annotations

import base64

import pytest

from keyhive import KeyHive
from keyhive.core.errors import InvalidInput
from keyhive.integrations._gate import begin_check, check, check_async, required_scopes
from keyhive.integrations._principal import Principal
from keyhive.integrations._rfc6750 import Denial
from keyhive.integrations._verifier import AsyncLocalVerifier, LocalVerifier
from tests.integrations.conftest import Blog
from tests.service.test_verify import forged


class _General(LocalVerifier):
    """The same verifier, but not the type the shortcut is taken for."""


class _GeneralAsync(AsyncLocalVerifier):
    """The same, for check_async."""


def _headers(blog: Blog) -> list[tuple[str | None, str | None, tuple[str, ...]]]:
    basic = base64.b64encode(f"{blog.client.client_id}:{blog.writer}".encode()).decode()
    return [
        (f"Bearer {blog.writer}", None, ("articles:create",)),
        (f"bearer {blog.writer}", None, ()),
        (f"Bearer   {blog.writer}  ", None, ()),
        (f"Api-Key {blog.writer}", None, ()),
        (f"Bearer {blog.writer}", None, ("users:read",)),  # valid, scope missing
        (f"Bearer {blog.reader}", blog.writer, ("users:read",)),  # Authorization wins
        (f"Bearer {forged(blog.writer)}", None, ()),
        ("Bearer kh_not_a_token", None, ()),
        ("Bearer ", None, ()),
        ("Bearer " + "x" * 9000, None, ()),
        (f"Basic {basic}", None, ("articles:create",)),
        (None, blog.reader, ("users:read",)),
        (None, None, ()),
    ]


def test_the_blocking_shortcut_agrees_with_the_general_path(hive: KeyHive, blog: Blog) -> None:
    fast, general = LocalVerifier(hive), _General(hive)
    for authorization, api_key, required in _headers(blog):
        expected = check(general, authorization, api_key, required, ip="192.0.2.1")
        assert check(fast, authorization, api_key, required, ip="192.0.2.1") == expected, (
            authorization and authorization[:12],
            required,
        )


@pytest.mark.anyio
async def test_the_async_shortcut_agrees_with_the_general_path(hive: KeyHive, blog: Blog) -> None:
    fast, general = AsyncLocalVerifier(hive), _GeneralAsync(hive)
    for authorization, api_key, required in _headers(blog):
        expected = await check_async(general, authorization, api_key, required, ip="192.0.2.1")
        got = await check_async(fast, authorization, api_key, required, ip="192.0.2.1")
        assert got == expected, (authorization and authorization[:12], required)


@pytest.mark.anyio
async def test_a_repeat_caller_is_answered_without_a_coroutine(hive: KeyHive, blog: Blog) -> None:
    """begin_check answers a cache hit with the principal itself (a first sight may
    need an await: a read or a worker), the same answer either way."""
    fast = AsyncLocalVerifier(hive)
    header = f"Bearer {blog.writer}"
    hive.cache.clear()  # type: ignore[union-attr]
    first = begin_check(fast, header, None, ["articles:create"], ip="192.0.2.1")
    settled = first if isinstance(first, Principal) else await first  # type: ignore[misc]
    assert isinstance(settled, Principal)
    again = begin_check(fast, header, None, ["articles:create"], ip="192.0.2.1")
    assert again == settled and isinstance(again, Principal)
    assert again is begin_check(fast, header, None, ("articles:create",), ip="192.0.2.1")


@pytest.mark.anyio
async def test_scopes_as_a_route_gathers_them_are_checked_like_declared_ones(
    hive: KeyHive, blog: Blog
) -> None:
    """FastAPI hands the gate a fresh list per request: it answers as the normalised
    tuple does, including the 403's scope, and an unusable scope still raises."""
    fast = AsyncLocalVerifier(hive)
    for authorization in (f"Bearer {blog.writer}", f"Basic {blog.client.client_id}:x"):
        for scopes in (["users:read", "articles:create"], ["articles:create"]):
            as_list = await check_async(fast, authorization, None, list(scopes))
            as_tuple = await check_async(fast, authorization, None, required_scopes(scopes))
            assert as_list == as_tuple
    denied = await check_async(fast, f"Bearer {blog.writer}", None, ["users:read"])
    assert isinstance(denied, Denial) and denied.status == 403
    assert denied.body["scope"] == "users:read"
    with pytest.raises(InvalidInput):
        await check_async(fast, f"Bearer {blog.writer}", None, ["not a scope!"])
