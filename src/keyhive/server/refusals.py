"""Refusals on the hot routes as raw ASGI answers, each kind encoded once.

A flood of wrong secrets is answered with the same few problems: a 401 for one code,
with a wait of so many seconds or none, for the same required scopes. Building each
answer anew (the RFC 6750 row, the challenge, the problem's JSON) cost more than the
digest check that decided it, and a flood is where the event loop can least spare it.
The answer depends on nothing but that key, so it is kept: at most ``bound`` kinds, all
dropped when full, so scopes chosen by a client cannot grow it. Answers that carry a
secret's live rate-limit fields are built every time.
"""

from __future__ import annotations

import json
from typing import Final, TypeAlias

from keyhive.core.model import Code, Verification
from keyhive.core.ratelimit_fields import ratelimit_fields
from keyhive.core.rfc6750 import retry_seconds
from keyhive.server.auth import rejection
from keyhive.server.problems import HTTPProblem, problem_body

#: Status, header pairs and body of one answer (the header tuple is shared: read only).
Encoded: TypeAlias = tuple[int, tuple[tuple[bytes, bytes], ...], bytes]
_Key: TypeAlias = tuple[Code, int | None, tuple[str, ...]]
BOUND: Final = 1024


def encode_problem(exc: HTTPProblem) -> Encoded:
    """A problem as ``application/problem+json`` in ASGI's terms."""
    body = problem_body(exc.status, exc.detail, exc.slug, exc.extensions)
    payload = json.dumps(body, separators=(",", ":")).encode()
    headers = (
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(payload)).encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items()),
    )
    return exc.status, headers, payload


class RefusalMemo:
    """``memo(result, required)`` is the encoded :func:`rejection` of a refused result."""

    __slots__ = ("_bound", "_known")

    def __init__(self, bound: int = BOUND) -> None:
        self._bound = bound
        self._known: dict[_Key, Encoded] = {}

    def __call__(
        self, result: Verification, required: tuple[str, ...], *, with_limits: bool = False
    ) -> Encoded:
        """The answer; ``with_limits`` adds the secret's RateLimit fields (/v1/auth)."""
        if with_limits and result.limits:
            refusal = rejection(result, required)
            refusal.headers.update(ratelimit_fields(result.limits))
            return encode_problem(refusal)
        key = (result.code, retry_seconds(result.retry_after), required)
        known = self._known.get(key)
        if known is None:
            known = encode_problem(rejection(result, required))
            if len(self._known) >= self._bound:
                self._known.clear()
            self._known[key] = known
        return known
