"""Backends built from URLs: the one place that picks memory or Redis implementations."""

from __future__ import annotations

from keyhive.limits.changes import Invalidator
from keyhive.limits.credits import CreditCounter, MemoryCredits, RedisCredits
from keyhive.limits.rate import LimitsRateLimiter, RateLimiter


def rate_limiter(redis_url: str | None) -> RateLimiter:
    return LimitsRateLimiter(redis_url or "memory://")


def credit_counter(redis_url: str | None) -> CreditCounter:
    return RedisCredits(redis_url) if redis_url else MemoryCredits()


def invalidator(redis_url: str | None) -> Invalidator | None:
    if not redis_url:
        return None
    from keyhive.limits.redis_changes import RedisInvalidator

    return RedisInvalidator(redis_url)
