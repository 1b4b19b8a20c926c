"""What faces build from a VALID answer, built once per cached answer.

The verification cache hands out the very same :class:`Verification` object on every
hit of a credential, so whatever a face derives from it (a JSON body, a header list, a
principal for a framework) can be built once and reused: entries are keyed by identity
and checked with ``is``. Answers that carry per-request figures (rate limits, credits)
are never kept. The map is emptied past either bound: ``bound`` entries, or ``max_bytes``
as ``weigh`` estimates what each value holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from keyhive.core.model import Verification

V = TypeVar("V")


class AnswerMemo(Generic[V]):
    """``memo(result)`` is ``encode(result)``, computed once per cached VALID answer."""

    __slots__ = ("_bound", "_bytes", "_encode", "_known", "_max_bytes", "_weigh")

    def __init__(
        self,
        encode: Callable[[Verification], V],
        bound: int = 10_000,
        *,
        weigh: Callable[[V], int] | None = None,
        max_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        self._encode = encode
        self._bound = bound
        self._weigh = weigh
        self._max_bytes = max_bytes
        self._bytes = 0
        self._known: dict[int, tuple[Verification, V]] = {}

    def __call__(self, result: Verification) -> V:
        known = self._known.get(id(result))
        if known is not None and known[0] is result:
            return known[1]
        value = self._encode(result)
        if result.valid and result.ratelimit is None and result.remaining is None:
            weight = self._weigh(value) if self._weigh is not None else 0
            if len(self._known) >= self._bound or self._bytes + weight > self._max_bytes:
                self._known.clear()
                self._bytes = 0
            self._known[id(result)] = (result, value)
            self._bytes += weight
        return value
