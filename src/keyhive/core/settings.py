"""Settings from flags and the environment; each has a ``KEYHIVE_*`` variable and a default
that runs one node with nothing to install."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from keyhive.core.addresses import LOOPBACK, TrustedProxies
from keyhive.core.branding import Branding, branding, public_url
from keyhive.core.durations import parse_duration
from keyhive.core.errors import ConfigurationError, InvalidDuration, InvalidInput
from keyhive.core.hashing import Hashing, make_hashing, parse_peppers
from keyhive.core.oauth import DEFAULT_ALGORITHM, OAuthConfig
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
    #: Proxies whose X-Real-IP and X-Forwarded-For are believed (CIDRs); loopback by default.
    trusted_proxies: tuple[str, ...] = LOOPBACK
    #: GitHub's secret scanning public keys (their ``public_keys`` JSON) for ``POST /v1/leaks``.
    leak_keys_file: str | None = None
    #: OAuth 2.0 access tokens (see docs/oauth.md): issuer and default audience URIs,
    #: token lifetime, signing algorithm, and how often the signing key is replaced.
    oauth_issuer: str | None = None
    oauth_audience: str | None = None
    oauth_token_lifetime: timedelta = timedelta(minutes=15)
    oauth_alg: str = DEFAULT_ALGORITHM
    oauth_key_rotation: timedelta = timedelta(days=30)
    #: How long hourly usage buckets are kept (``KEYHIVE_USAGE_RETENTION``).
    usage_retention: timedelta = DEFAULT_USAGE_RETENTION
    # -- webhooks (see docs/webhooks.md) --
    #: Targets on private, loopback and link-local addresses (and plain http) allowed.
    webhook_allow_private: bool = False
    #: How many days before a secret expires ``secret.expiring`` is sent.
    webhook_expiring_days: int = 7
    #: ``credits.low`` once the credits left fall below this share of the grant.
    webhook_credits_low: float = 0.10
    #: The longest one delivery attempt may take per step (connect, send, answer).
    webhook_timeout: timedelta = timedelta(seconds=10)
    #: A directory where worker processes share their metrics (``keyhive serve --workers``).
    metrics_dir: str | None = None
    #: Where browsers reach this keyhive (``KEYHIVE_PUBLIC_URL``), for portal links.
    public_url: str | None = None
    #: The portal's branding (``KEYHIVE_PORTAL_NAME``, ``_LOGO``, ``_ACCENT``); see branding().
    portal_name: str | None = None
    portal_logo: str | None = None
    portal_accent: str | None = None

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
            trusted_proxies=_networks(env.get("KEYHIVE_TRUSTED_PROXIES")) or LOOPBACK,
            leak_keys_file=env.get("KEYHIVE_LEAK_KEYS_FILE") or None,
            oauth_issuer=env.get("KEYHIVE_OAUTH_ISSUER") or None,
            oauth_audience=env.get("KEYHIVE_OAUTH_AUDIENCE") or None,
            oauth_token_lifetime=_duration(env, "KEYHIVE_OAUTH_TOKEN_LIFETIME", "15m"),
            oauth_alg=env.get("KEYHIVE_OAUTH_ALG") or DEFAULT_ALGORITHM,
            oauth_key_rotation=_duration(env, "KEYHIVE_OAUTH_KEY_ROTATION", "30d"),
            usage_retention=_retention(env.get("KEYHIVE_USAGE_RETENTION")),
            **_webhook_settings(env),
            metrics_dir=env.get("KEYHIVE_METRICS_DIR") or None,
            public_url=env.get("KEYHIVE_PUBLIC_URL") or None,
            portal_name=env.get("KEYHIVE_PORTAL_NAME") or None,
            portal_logo=env.get("KEYHIVE_PORTAL_LOGO") or None,
            portal_accent=env.get("KEYHIVE_PORTAL_ACCENT") or None,
        )
        return settings.with_overrides(**overrides)

    def to_env(self) -> dict[str, str]:
        """The ``KEYHIVE_*`` variables that :meth:`from_env` reads back as these settings.

        For server worker processes, which can only be configured through their
        environment. Peppers are not included: they only ever come from the environment
        (or the key file), which the workers inherit.
        """
        env = {
            "KEYHIVE_DATABASE_URL": self.database_url,
            "KEYHIVE_HASHER": self.hasher,
            "KEYHIVE_TOKEN_PREFIX": self.token_prefix,
            "KEYHIVE_HASHING_PROFILE": self.hashing_profile,
            "KEYHIVE_TRUSTED_PROXIES": ",".join(self.trusted_proxies),
        }
        if self.redis_url:
            env["KEYHIVE_REDIS_URL"] = self.redis_url
        if self.metrics_dir:
            env["KEYHIVE_METRICS_DIR"] = self.metrics_dir
        return env

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the non-None values replaced."""
        given = {k: v for k, v in overrides.items() if v is not None}
        result = replace(self, **given) if given else self
        validate_prefix(result.token_prefix)
        try:
            TrustedProxies(result.trusted_proxies)
        except InvalidInput as exc:
            raise ConfigurationError(str(exc)) from None
        return result

    def make_hashing(self) -> Hashing:
        return make_hashing(self.hasher, peppers=self.key_list(), profile=self.hashing_profile)

    def key_list(self) -> tuple[tuple[str, bytes], ...]:
        """The server keys, oldest first: ``KEYHIVE_PEPPERS``, else the SQLite key file."""
        if self.peppers:
            return self.peppers
        path = key_file_for(self.database_url)
        return tuple(read_key_file(path)) if path is not None else ()

    def oauth(self) -> OAuthConfig:
        """The OAuth settings, checked (ConfigurationError names the bad variable)."""
        return OAuthConfig(
            issuer=self.oauth_issuer,
            audience=self.oauth_audience,
            lifetime=self.oauth_token_lifetime,
            algorithm=self.oauth_alg,
            rotation=self.oauth_key_rotation,
        )

    def public_base(self) -> str | None:
        """``public_url`` checked, without a trailing slash (ConfigurationError if bad)."""
        return public_url(self.public_url)

    def branding(self) -> Branding:
        """The portal's branding, checked (ConfigurationError names the bad variable)."""
        return branding(self.portal_name, self.portal_logo, self.portal_accent, self.public_base())

    def server_keys(self) -> ServerKeys:
        """The configured server keys, else a random key for this process only."""
        keys = self.key_list()
        return ServerKeys(keys) if keys else ServerKeys.ephemeral()


def _networks(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def _duration(env: Mapping[str, str], name: str, default: str) -> timedelta:
    try:
        return parse_duration(env.get(name) or default)
    except InvalidDuration:
        raise ConfigurationError(f"{name} is not a duration like 15m, 24h or 30d") from None


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


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def _webhook_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The ``KEYHIVE_WEBHOOK_*`` variables, checked: a typo is one clear error."""
    allow = env.get("KEYHIVE_WEBHOOK_ALLOW_PRIVATE", "").strip().lower()
    if allow not in _TRUE | _FALSE:
        raise ConfigurationError("KEYHIVE_WEBHOOK_ALLOW_PRIVATE must be 1 or 0 (true or false)")
    days_text = env.get("KEYHIVE_WEBHOOK_EXPIRING_DAYS") or "7"
    if not days_text.isdigit() or not 1 <= int(days_text) <= 60:
        raise ConfigurationError(
            "KEYHIVE_WEBHOOK_EXPIRING_DAYS must be a whole number from 1 to 60"
        )
    low_text = (env.get("KEYHIVE_WEBHOOK_CREDITS_LOW") or "10%").strip().removesuffix("%")
    try:
        low = float(low_text) / 100
    except ValueError:
        low = -1.0
    if not 0 < low < 1:
        raise ConfigurationError("KEYHIVE_WEBHOOK_CREDITS_LOW must be a share like 10%")
    timeout = _duration(env, "KEYHIVE_WEBHOOK_TIMEOUT", "10s")
    if not timedelta(seconds=1) <= timeout <= timedelta(seconds=60):
        raise ConfigurationError("KEYHIVE_WEBHOOK_TIMEOUT must be from 1s to 60s")
    return {
        "webhook_allow_private": allow in _TRUE,
        "webhook_expiring_days": int(days_text),
        "webhook_credits_low": low,
        "webhook_timeout": timeout,
    }
