"""Sliding-window rate limiting per secret, on the ``limits`` library.

``memory://`` counts in this process; ``redis://…`` counts across every node, atomically
(the library's moving window runs as one Lua script, so nodes never over-admit). When
Redis cannot be reached the limiter falls back to counting in this process, so
verification keeps serving and each node still enforces the limit on its own share
(documented in docs/deploy.md).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from keyhive.core.model import RateLimitStatus
from keyhive.core.quotas import RateLimit

log = logging.getLogger(__name__)


def _item(rate: RateLimit) -> Any:
    from limits import RateLimitItemPerSecond

    return RateLimitItemPerSecond(rate.limit, rate.window)


class LimitsRateLimiter:
    """A moving-window limiter over a ``limits`` storage URI, with a local fallback."""

    def __init__(self, uri: str = "memory://", *, prefix: str = "keyhive") -> None:
        from limits.storage import storage_from_string
        from limits.strategies import MovingWindowRateLimiter

        self.uri = uri
        #: Counting in Redis is a network call: not for an event loop.
        self.blocking = uri != "memory://"
        options: dict[str, Any] = {}
        if uri.startswith(("redis://", "rediss://")):
            options = {"socket_timeout": 0.25, "socket_connect_timeout": 0.25}
        storage = storage_from_string(uri, key_prefix=prefix, **options)
        self._limiter = MovingWindowRateLimiter(storage)
        self._local = (
            None
            if uri == "memory://"
            else MovingWindowRateLimiter(storage_from_string("memory://"))
        )
        self._items: dict[RateLimit, Any] = {}
        self._degraded = False  # log the switch to local counting once, not per request

    def hit(self, key: str, rate: RateLimit) -> RateLimitStatus:
        item = self._items.get(rate)
        if item is None:
            item = self._items[rate] = _item(rate)
        try:
            status = self._hit(self._limiter, item, key, rate)
        except Exception as exc:
            if self._local is None:
                raise
            if not self._degraded:
                self._degraded = True
                log.warning(
                    "rate limit storage unavailable, counting locally: %s", type(exc).__name__
                )
            return self._hit(self._local, item, key, rate)
        if self._degraded:
            self._degraded = False
            log.warning("rate limit storage is back; counting across nodes again")
        return status

    @staticmethod
    def _hit(limiter: Any, item: Any, key: str, rate: RateLimit) -> RateLimitStatus:
        allowed = bool(limiter.hit(item, key))
        stats = limiter.get_window_stats(item, key)
        # The limits library keeps wall-clock epoch times; the wait is read on that clock.
        now = time.time()
        reset = float(stats.reset_time) if stats.reset_time else now + rate.window
        return RateLimitStatus(
            allowed, rate.limit, max(0, int(stats.remaining)), reset, max(0.0, reset - now)
        )
