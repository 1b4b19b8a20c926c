"""Settings from flags and the environment; each has a ``KEYHIVE_*`` variable and a default
that runs one node with nothing to install."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from keyhive.core.durations import parse_duration
from keyhive.core.errors import ConfigurationError, InvalidDuration
from keyhive.core.hashing import Hashing, make_hashing, parse_peppers
from keyhive.core.serverkeys import ServerKeys, key_file_for, read_key_file
from keyhive.core.tokens import DEFAULT_PREFIX, validate_prefix

DEFAULT_DATABASE_URL = "sqlite:///./keyhive.db"
DEFAULT_USAGE_RETENTION = timedelta(days=90)


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Peppers are kept out of ``repr``: they are secrets."""

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    hasher: str = "scrypt"
    peppers: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)
    token_prefix: str = DEFAULT_PREFIX
    #: ``default`` or ``cheapest`` (tests only: scrypt and argon2 at their lowest cost).
    hashing_profile: str = "default"
    #: How long hourly usage buckets are kept (``KEYHIVE_USAGE_RETENTION``).
    usage_retention: timedelta = DEFAULT_USAGE_RETENTION

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``KEYHIVE_*`` variables; non-None ``overrides`` (from flags) win."""
        env = os.environ if env is None else env
        settings = cls(
            database_url=env.get("KEYHIVE_DATABASE_URL") or DEFAULT_DATABASE_URL,
            redis_url=env.get("KEYHIVE_REDIS_URL") or None,
            hasher=env.get("KEYHIVE_HASHER") or "scrypt",
            peppers=tuple(parse_peppers(env.get("KEYHIVE_PEPPERS", ""))),
            token_prefix=env.get("KEYHIVE_TOKEN_PREFIX") or DEFAULT_PREFIX,
            hashing_profile=env.get("KEYHIVE_HASHING_PROFILE") or "default",
            usage_retention=_retention(env.get("KEYHIVE_USAGE_RETENTION")),
        )
        return settings.with_overrides(**overrides)

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the non-None values replaced."""
        given = {k: v for k, v in overrides.items() if v is not None}
        result = replace(self, **given) if given else self
        validate_prefix(result.token_prefix)
        return result

    def make_hashing(self) -> Hashing:
        return make_hashing(self.hasher, peppers=self.key_list(), profile=self.hashing_profile)

    def key_list(self) -> tuple[tuple[str, bytes], ...]:
        """The server keys, oldest first: ``KEYHIVE_PEPPERS``, else the SQLite key file."""
        if self.peppers:
            return self.peppers
        path = key_file_for(self.database_url)
        return tuple(read_key_file(path)) if path is not None else ()

    def server_keys(self) -> ServerKeys:
        """The configured server keys, else a random key for this process only."""
        keys = self.key_list()
        return ServerKeys(keys) if keys else ServerKeys.ephemeral()


def _retention(text: str | None) -> timedelta:
    """``KEYHIVE_USAGE_RETENTION`` read as a duration of at least one hour (default 90d)."""
    if not text:
        return DEFAULT_USAGE_RETENTION
    try:
        value = parse_duration(text)
    except InvalidDuration as exc:
        raise ConfigurationError(f"KEYHIVE_USAGE_RETENTION: {exc}") from None
    if value < timedelta(hours=1):
        raise ConfigurationError("KEYHIVE_USAGE_RETENTION must be at least 1h")
    return value
