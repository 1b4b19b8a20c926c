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
from keyhive.integrations._gate import check, check_async
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
