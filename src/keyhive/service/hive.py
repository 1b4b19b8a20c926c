"""The KeyHive facade: clients, secrets, imports, owners, roles, verification and the
audit log.

Each concept lives in its own module (clients.py, secrets.py, imports.py,
legacy_imports.py, owners.py, roles.py, leaks.py, usage.py, browse.py, verifying.py,
audit.py, bootstrap.py, webhooks.py, recovery.py, portal.py); this class puts them
together over one set of parts. The parts come from
:func:`keyhive.counters.factory.build` (the one place that picks concrete backends),
and :meth:`KeyHive.from_parts` takes them ready-made.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final, Unpack

from keyhive.core.errors import KeyhiveError
from keyhive.core.scopes import ADMIN_SCOPE as _ADMIN_SCOPE
from keyhive.core.scopes import VERIFY_SCOPE as _VERIFY_SCOPE
from keyhive.counters.factory import HiveOptions, Parts, build, signal_buffer
from keyhive.counters.protocols import ChangeFeed, CredentialCache
from keyhive.service.admins import ADMIN_CLIENT_NAME as _ADMIN_CLIENT_NAME
from keyhive.service.admins import ADMIN_OWNER as _ADMIN_OWNER
from keyhive.service.audit import AuditLog
from keyhive.service.bootstrap import Bootstrap
from keyhive.service.browse import Browsing
from keyhive.service.imports import SeedImports
from keyhive.service.leaks import LeakResponse
from keyhive.service.legacy_imports import LegacyImports
from keyhive.service.owners import OwnerLimits
from keyhive.service.pipeline import AccessTokens, Pipeline
from keyhive.service.portal import PortalSessions
from keyhive.service.recovery import Recovery
from keyhive.service.roles import Roles
from keyhive.service.usage import UsageAnalytics
from keyhive.service.verifying import Verifying
from keyhive.service.webhooks import Webhooks

log = logging.getLogger(__name__)
ADMIN_SCOPE: Final = _ADMIN_SCOPE
VERIFY_SCOPE: Final = _VERIFY_SCOPE
ADMIN_OWNER: Final = _ADMIN_OWNER
ADMIN_CLIENT_NAME: Final = _ADMIN_CLIENT_NAME


class KeyHive(
    PortalSessions,
    LegacyImports,
    SeedImports,
    Bootstrap,
    LeakResponse,
    OwnerLimits,
    Roles,
    UsageAnalytics,
    Browsing,
    Recovery,
    Verifying,
    AuditLog,
    Webhooks,
):
    """Issue, store and verify API keys and secrets.

    ``KeyHive("sqlite:///./keyhive.db")`` is all a single node needs; settings not given
    come from the ``KEYHIVE_*`` environment. Tests pass a ``clock`` to move time exactly,
    and ``Settings(hashing_profile="cheapest")``. See
    :class:`~keyhive.counters.factory.HiveOptions` for every keyword option.
    """

    def __init__(self, database_url: str | None = None, **options: Unpack[HiveOptions]) -> None:
        if database_url is not None and not isinstance(database_url, str):
            raise TypeError(f"database_url must be a string, not {type(database_url).__name__}")
        self._attach(build(database_url, options))

    @classmethod
    def from_parts(cls, parts: Parts) -> KeyHive:
        """A facade over ready-made parts (no environment read; the store as given)."""
        hive = cls.__new__(cls)
        hive._attach(parts)
        return hive

    def _attach(self, parts: Parts) -> None:
        self._parts = parts
        self.settings = parts.settings
        self.store = parts.store
        self.hashing = parts.hashing
        self.clock = parts.clock
        self.prefix = parts.settings.token_prefix
        self.server_keys = parts.server_keys
        self._digester = parts.digester
        self._usage = parts.usage
        self._cache = parts.cache
        self._invalidator = parts.invalidator
        self._signals = signal_buffer(self._write_signals)
        self.pipeline = Pipeline(
            store=parts.store,
            hashing=parts.hashing,
            digester=parts.digester,
            store_digests=parts.store_digests,
            clock=parts.clock,
            cache=parts.cache,
            throttle=parts.throttle,
            meter=parts.meter,
            usage=parts.usage,
            signals=self._signals,
            credits_low=parts.settings.webhook_credits_low,
        )
        self.pipeline.access_tokens = self._local_access_tokens
        self._change_hooks: list[Callable[[str, str], None]] = []
        self._close_hooks: list[Callable[[], None]] = []
        self._feed: ChangeFeed | None = parts.start(self._heard, self._lost)

    def _local_access_tokens(self) -> AccessTokens | None:
        """The checker of this hive's OAuth access tokens (built on the first JWT seen).

        None, so JWTs answer NOT_FOUND, when OAuth is not installed (the ``oauth`` extra)
        or has no issuer and audience to check tokens against.
        """
        try:
            from keyhive.service.oauth.verifier import AccessTokenVerifier
        except ImportError:
            log.info("access tokens refused: the oauth extra is not installed")
            return None
        try:
            return AccessTokenVerifier.for_hive(self)
        except (ValueError, KeyhiveError) as exc:
            log.info("access tokens refused: %s", exc)
            return None

    def _heard(self, target_type: str, target_id: str) -> None:
        """Another process changed a client, secret, owner or role: forget what we knew."""
        self._run_change_hooks(target_type, target_id)
        cache = self._cache
        if cache is None:
            return
        if target_type == "client":
            cache.evict_client(target_id)
        elif target_type == "secret":
            cache.evict_secret(target_id)
        elif target_type == "pairs":
            cache.forget_pairs(target_id)
        elif target_type == "legacy":
            cache.forget_legacy(target_id)
        elif target_type == "owner":
            cache.evict_owner(target_id)
        elif target_type == "role":
            cache.clear()  # any secret may hold it; role changes are rare

    def _lost(self) -> None:
        """Change messages may have been missed (a reconnect): forget everything."""
        if self._cache is not None:
            self._cache.clear()
        self._run_change_hooks("*", "")

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def cache(self) -> CredentialCache | None:
        """The verification cache (None when disabled with ``cache_size=0``)."""
        return self._cache

    def close(self) -> None:
        """Stop following changes, write pending usage counts and release the store."""
        self._run_close_hooks()
        if self._feed is not None:
            self._feed.stop()
        if self._invalidator is not None:
            self._invalidator.stop()
        self._usage.close()
        self._signals.close()
        self.store.close()

    def flush(self) -> None:
        """Write pending usage counts (and webhook signals) now."""
        self._usage.flush()
        self._signals.flush()

    def __enter__(self) -> KeyHive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
