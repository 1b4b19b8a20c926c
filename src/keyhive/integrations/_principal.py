"""What an integration hands a protected handler: the verified caller and the verdict.

Local and remote verification both end here, so a handler reads the same fields whether
the secret was checked in-process or by a keyhive server.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from keyhive.core.model import Code, RateLimitStatus, Verification
from keyhive.core.scopes import allows


@dataclass(frozen=True, slots=True)
class Principal:
    """The client whose secret passed: ids, granted scopes, owner and metadata."""

    client_id: str
    secret_id: str
    scopes: tuple[str, ...] = ()
    owner: str | None = None
    name: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None
    #: The rate limits this request was counted against (for the RateLimit headers).
    limits: tuple[RateLimitStatus, ...] = field(default=(), compare=False)

    def allows(self, scopes: str | Iterable[str]) -> bool:
        """Whether the granted scopes cover every one of ``scopes`` (wildcards included)."""
        return allows(self.scopes, scopes)

    @classmethod
    def from_verification(cls, result: Verification) -> Principal | None:
        client, secret = result.client, result.secret
        if client is None or secret is None:
            return None
        return cls(
            client_id=client.client_id,
            secret_id=secret.secret_id,
            scopes=result.scopes,  # its roles' too, or an access token's own
            owner=client.owner,
            name=client.name,
            # Read-only: one principal may serve many requests (see keyhive.core.answers).
            metadata=MappingProxyType(dict(client.metadata)),
            expires_at=secret.expires_at,
            limits=result.limits,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Principal | None:
        """Read the body of ``POST /v1/verify``; None when it names no client."""
        client_id, secret_id = data.get("client_id"), data.get("secret_id")
        if not (isinstance(client_id, str) and isinstance(secret_id, str)):
            return None
        expires = data.get("expires_at")
        return cls(
            client_id=client_id,
            secret_id=secret_id,
            scopes=tuple(str(s) for s in data.get("scopes") or ()),
            owner=data.get("owner"),
            name=data.get("name"),
            metadata=dict(data.get("metadata") or {}),
            expires_at=datetime.fromisoformat(expires) if isinstance(expires, str) else None,
            limits=limits_from_answer(data.get("limits")),
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """A verification as integrations see it: one code, the principal once the secret
    matched, and how long to wait when throttled."""

    code: Code
    principal: Principal | None = None
    retry_after: float | None = None
    limits: tuple[RateLimitStatus, ...] = ()

    @property
    def valid(self) -> bool:
        return self.code is Code.VALID

    @property
    def client_id(self) -> str | None:
        return self.principal.client_id if self.principal else None

    @property
    def secret_id(self) -> str | None:
        return self.principal.secret_id if self.principal else None

    @property
    def scopes(self) -> tuple[str, ...]:
        return self.principal.scopes if self.principal else ()

    @classmethod
    def from_verification(cls, result: Verification) -> Verdict:
        return cls(
            result.code, Principal.from_verification(result), result.retry_after, result.limits
        )


def limits_from_answer(data: object) -> tuple[RateLimitStatus, ...]:
    """The ``limits`` of a ``POST /v1/verify`` answer (unreadable entries are skipped)."""
    if not isinstance(data, list):
        return ()
    now = time.time()
    found = []
    for item in data:
        try:
            reset = float(item["reset"])
            found.append(
                RateLimitStatus(
                    True,
                    int(item["limit"]),
                    int(item["remaining"]),
                    reset,
                    max(0.0, reset - now),
                    str(item["name"]),
                    int(item["window"]),
                    str(item["holder"]),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return tuple(found)
