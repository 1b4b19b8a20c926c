"""RFC 6750 (Bearer token usage) §3, framework-free: how a verification code becomes an
HTTP status, a ``WWW-Authenticate`` challenge and a ``Retry-After``.

Shared by the HTTP service and every framework integration, so a refused caller sees
the same answer wherever keyhive stands.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from keyhive.core.model import Code

REALM: Final = "keyhive"
#: Codes answered 401 ``invalid_token``: the credential itself is not good.
UNAUTHORIZED: Final = frozenset({Code.NOT_FOUND, Code.EXPIRED, Code.REVOKED, Code.DISABLED})
#: Codes answered 403 ``insufficient_scope``: good credential, not for this request.
FORBIDDEN: Final = frozenset({Code.INSUFFICIENT_SCOPE, Code.IP_NOT_ALLOWED})
#: Codes answered 429 with ``Retry-After``.
LIMITED: Final = frozenset({Code.RATE_LIMITED, Code.USAGE_EXCEEDED})


def challenge(
    realm: str = REALM, error: str | None = None, scope: Sequence[str] = (), description: str = ""
) -> str:
    """A ``WWW-Authenticate: Bearer`` value; no ``error`` when no credential was sent (§3.1)."""
    parts = [f'Bearer realm="{realm}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    if scope:
        parts.append(f'scope="{" ".join(scope)}"')
    return ", ".join(parts)


def retry_seconds(value: float | None) -> int | None:
    """Whole seconds for ``Retry-After``: at least 1, at most a day; None if not a wait."""
    if value is None or math.isnan(value) or value <= 0:
        return None
    return max(1, math.ceil(min(value, 86_400.0)))
