"""The meter: a verification's rate-limit windows and credit counters, spent together.

A verification may be counted against several windows (a secret's named limits and its
owner's) and up to two credit allowances (the secret's and the owner's). They are
checked and spent as one step, all or nothing: a request that one counter refuses
spends none of the others, and a refusal names the first counter without room.

Windows slide exactly (a log of the units spent, newest first, kept to the limit's
length, as the ``limits`` library's moving window does): nodes sharing Redis admit
exactly the limit between them. ``memory`` counts in this process under one lock;
``redis`` runs the whole spend as one Lua script on Redis's own clock, so it is atomic
across nodes and immune to their clock skew.

When Redis cannot be reached, a spend with windows only is counted in this process (each
node enforces the limits on its own share; documented in docs/deploy.md) and a spend
with credits fails closed (MeterUnavailable): credits are a budget.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any, Final

from keyhive.counters.protocols import Allowance, Metered, MeterUnavailable, Window

log = logging.getLogger(__name__)
#: How long a credit counter outlives its last spend in Redis (a month and some).
CREDIT_TTL: Final = 40 * 86400


class MemoryMeter:
    """Windows and credit counters in this process."""

    blocking = False

    def __init__(self) -> None:
        self._logs: dict[str, collections.deque[float]] = {}
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()

    def spend(
        self, windows: Sequence[Window], allowances: Sequence[Allowance], cost: int
    ) -> Metered:
        with self._lock:
            now = time.time()
            refused: int | None = None
            counts: list[int] = []
            resets: list[float] = []
            logs = []
            for index, window in enumerate(windows):
                entries = self._logs.get(window.key)
                if entries is None:
                    entries = self._logs[window.key] = collections.deque()
                floor = now - window.window
                while entries and entries[0] <= floor:
                    entries.popleft()
                logs.append(entries)
                count = len(entries)
                counts.append(count)
                if refused is None and count + cost > window.limit:
                    refused = index
                    # The oldest entries are on the left: room comes when this one leaves.
                    needed = count + cost - window.limit
                    fits = needed <= count and cost <= window.limit
                    resets.append(
                        entries[needed - 1] + window.window if fits else now + window.window
                    )
                else:
                    resets.append(entries[0] + window.window if entries else now + window.window)
            used = [self._used.get(a.key, a.start) for a in allowances]
            for offset, (allowance, spent) in enumerate(zip(allowances, used, strict=True)):
                if refused is None and spent + cost > allowance.allowance:
                    refused = len(windows) + offset
            if refused is None:
                for index, entries in enumerate(logs):
                    entries.extend([now] * cost)
                    counts[index] += cost
                for offset, allowance in enumerate(allowances):
                    used[offset] += cost
                    self._used[allowance.key] = used[offset]
            else:
                for allowance, spent in zip(allowances, used, strict=True):
                    self._used.setdefault(allowance.key, spent)
            return Metered(refused, now, tuple(counts), tuple(resets), tuple(used))


_SPEND: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[1])
local nw = tonumber(ARGV[2])
local na = tonumber(ARGV[3])
local refused = 0
local counts, resets, used = {}, {}, {}
for i = 1, nw do
  local key = KEYS[i]
  local limit, win = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
  local floor = now - win
  -- newest first: count the entries still in the window by bisection
  local lo, hi = 0, redis.call('LLEN', key)
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if tonumber(redis.call('LINDEX', key, mid)) > floor then lo = mid + 1 else hi = mid end
  end
  counts[i] = lo
  if refused == 0 and lo + cost > limit then
    refused = i
    local at = limit - cost
    if at >= 0 and at < lo then
      resets[i] = tonumber(redis.call('LINDEX', key, at)) + win
    else
      resets[i] = now + win
    end
  elseif lo > 0 then
    resets[i] = tonumber(redis.call('LINDEX', key, lo - 1)) + win
  else
    resets[i] = now + win
  end
end
local base = 4 + 2 * nw
for j = 1, na do
  local value = redis.call('GET', KEYS[nw + j])
  used[j] = value and tonumber(value) or tonumber(ARGV[base + 3 * (j - 1) + 1])
  if refused == 0 and used[j] + cost > tonumber(ARGV[base + 3 * (j - 1)]) then
    refused = nw + j
  end
end
if refused == 0 and cost > 0 then
  for i = 1, nw do
    local key = KEYS[i]
    local limit, win = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
    local left = cost
    while left > 0 do
      local n = math.min(left, 500)
      local stamps = {}
      for k = 1, n do stamps[k] = now end
      redis.call('LPUSH', key, unpack(stamps))
      left = left - n
    end
    redis.call('LTRIM', key, 0, limit - 1)
    redis.call('PEXPIRE', key, win)
    counts[i] = counts[i] + cost
  end
  for j = 1, na do
    local key = KEYS[nw + j]
    local ttl = tonumber(ARGV[base + 3 * (j - 1) + 2])
    if not redis.call('GET', key) then
      redis.call('SET', key, used[j], 'EX', ttl)
    end
    used[j] = redis.call('INCRBY', key, cost)
    redis.call('EXPIRE', key, ttl)
  end
end
local out = {refused, now}
for i = 1, nw do
  out[#out + 1] = counts[i]
  out[#out + 1] = resets[i]
end
for j = 1, na do out[#out + 1] = used[j] end
return out
"""


class RedisMeter:
    """Windows and credit counters in Redis, shared by every node; one script per spend."""

    blocking = True

    def __init__(
        self,
        url: str,
        *,
        window_prefix: str = "keyhive:rl:",
        credit_prefix: str = "keyhive:credits:",
        credit_ttl: int = CREDIT_TTL,
    ) -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = self._redis.register_script(_SPEND)
        self._windows = window_prefix
        self._credits = credit_prefix
        self._ttl = credit_ttl
        self._local = MemoryMeter()
        self._down = False  # log an outage once when it starts, not per request

    def spend(
        self, windows: Sequence[Window], allowances: Sequence[Allowance], cost: int
    ) -> Metered:
        keys = [self._windows + w.key for w in windows] + [
            self._credits + a.key for a in allowances
        ]
        args: list[int] = [cost, len(windows), len(allowances)]
        for window in windows:
            args += [window.limit, window.window * 1000]
        for allowance in allowances:
            args += [allowance.allowance, allowance.start, self._ttl]
        try:
            answer = self._script(keys=keys, args=args)
        except Exception as exc:
            return self._unreachable(exc, windows, allowances, cost)
        if self._down:
            self._down = False
            log.warning("rate limit and credit counters reachable again; counting across nodes")
        refused, now = int(answer[0]), int(answer[1]) / 1000
        figures = [int(v) for v in answer[2:]]
        pairs = figures[: 2 * len(windows)]
        return Metered(
            refused - 1 if refused else None,
            now,
            tuple(pairs[0::2]),
            tuple(ms / 1000 for ms in pairs[1::2]),
            tuple(figures[2 * len(windows) :]),
        )

    def _unreachable(
        self,
        exc: Exception,
        windows: Sequence[Window],
        allowances: Sequence[Allowance],
        cost: int,
    ) -> Metered:
        if not self._down:
            self._down = True
            log.warning(
                "rate limit and credit counters unavailable (%s): counting rate limits "
                "locally, refusing credit spends",
                type(exc).__name__,
            )
        if allowances:
            raise MeterUnavailable("credit counters unreachable") from None
        return self._local.spend(windows, allowances, cost)
