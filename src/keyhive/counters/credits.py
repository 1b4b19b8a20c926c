"""Credits: a number of verifications a secret may spend, counted per period.

The counter for a period starts from what the database last recorded (``start``), so a
restart or a new node continues the count; each spend is atomic, so concurrent
verifications never take the balance below zero. ``memory`` counts in this process,
``redis`` across nodes with one Lua script per spend.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


class MemoryCredits:
    """Credit counters in this process."""

    blocking = False

    def __init__(self) -> None:
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()

    def spend(self, key: str, allowance: int, start: int, cost: int = 1) -> tuple[bool, int]:
        with self._lock:
            used = self._used.get(key, start)
            if used + cost > allowance:
                self._used[key] = used
                return False, used
            used += cost
            self._used[key] = used
            return True, used


_SPEND = """
local used = redis.call('GET', KEYS[1])
if not used then
  used = tonumber(ARGV[2])
  redis.call('SET', KEYS[1], used, 'EX', ARGV[4])
else
  used = tonumber(used)
end
local cost = tonumber(ARGV[3])
if used + cost > tonumber(ARGV[1]) then
  return {0, used}
end
used = redis.call('INCRBY', KEYS[1], cost)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {1, used}
"""


class RedisCredits:
    """Credit counters in Redis, shared by every node; atomic through a Lua script."""

    blocking = True

    def __init__(
        self, url: str, *, prefix: str = "keyhive:credits:", ttl: int = 40 * 86400
    ) -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = self._redis.register_script(_SPEND)
        self._prefix = prefix
        self._ttl = ttl
        self._down = False  # log an outage once when it starts, not per request

    def spend(self, key: str, allowance: int, start: int, cost: int = 1) -> tuple[bool, int]:
        try:
            spent, used = self._script(
                keys=[self._prefix + key], args=[allowance, start, cost, self._ttl]
            )
        except Exception as exc:
            if not self._down:
                self._down = True
                log.warning("credit counters unreachable (%s); refusing spends", type(exc).__name__)
            raise
        if self._down:
            self._down = False
            log.warning("credit counters reachable again")
        return bool(spent), int(used)
