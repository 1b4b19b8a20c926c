"""Backends built from URLs: the one place that picks memory or Redis implementations."""

from __future__ import annotations

from keyhive.core.errors import ConfigurationError
from keyhive.counters.changes import Invalidator
from keyhive.counters.credits import CreditCounter, MemoryCredits, RedisCredits
from keyhive.counters.rate import LimitsRateLimiter, RateLimiter

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def check_redis_url(redis_url: str | None) -> str | None:
    """The URL if it names Redis (or None for none); a ConfigurationError otherwise.

    Checked here so that a typo is one clear error that does not echo the URL, which
    may hold a password.
    """
    if not redis_url:
        return None
    if not redis_url.startswith(_REDIS_SCHEMES):
        raise ConfigurationError("KEYHIVE_REDIS_URL must start with redis://, rediss:// or unix://")
    return redis_url


def rate_limiter(redis_url: str | None) -> RateLimiter:
    """Sliding-window limits: in this process, or shared through Redis."""
    return LimitsRateLimiter(check_redis_url(redis_url) or "memory://")


def credit_counter(redis_url: str | None) -> CreditCounter:
    """Credit counters: in this process, or shared through Redis."""
    url = check_redis_url(redis_url)
    return RedisCredits(url) if url else MemoryCredits()


def invalidator(redis_url: str | None) -> Invalidator | None:
    """The channel that tells other nodes about changes: Redis pub/sub, or none."""
    url = check_redis_url(redis_url)
    if url is None:
        return None
    from keyhive.counters.redis_changes import RedisInvalidator

    return RedisInvalidator(url)
