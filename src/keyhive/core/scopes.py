"""Scope strings and matching.

A scope is ``resource:action``; a grant of ``resource:*`` covers every action on the
resource and ``*`` covers everything of the protected API. A request may require several
scopes and is allowed only when every one is covered.

keyhive's own scopes (``keyhive:admin``, ``keyhive:verify``) are granted only by name or
by ``keyhive:*``: a bare ``*`` handed out for an API must never make its holder a keyhive
admin. This is the one place that rule lives; the server and every integration use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from keyhive.core.echo import excerpt
from keyhive.core.errors import InvalidScope

_SCOPE_RE: Final = re.compile(r"[A-Za-z0-9_.\-/]{1,64}:(?:[A-Za-z0-9_.\-/]{1,64}|\*)")
MAX_SCOPES: Final = 64
#: The namespace of keyhive's own scopes, which a bare ``*`` does not reach.
RESERVED: Final = "keyhive:"
ADMIN_SCOPE: Final = "keyhive:admin"
VERIFY_SCOPE: Final = "keyhive:verify"
#: Every keyhive scope: the one grant besides ``keyhive:admin`` itself that makes an admin.
KEYHIVE_ALL: Final = "keyhive:*"
ADMIN_GRANTS: Final = frozenset({ADMIN_SCOPE, KEYHIVE_ALL})


def validate_scope(scope: object) -> str:
    """Return ``scope`` if it is ``*``, ``resource:*`` or ``resource:action``."""
    if not isinstance(scope, str):
        raise InvalidScope("scope must be a string", field="scopes")
    if scope != "*" and not _SCOPE_RE.fullmatch(scope):
        # Only the start is repeated: a token pasted as a scope must not come back.
        raise InvalidScope(
            f"invalid scope {excerpt(scope)}: use resource:action, resource:* or *",
            field="scopes",
        )
    return scope


def normalize_scopes(scopes: object) -> tuple[str, ...]:
    """Validate, de-duplicate and sort scopes; a bare string counts as one scope."""
    if scopes is None:
        return ()
    if isinstance(scopes, str):
        scopes = (scopes,)
    if not isinstance(scopes, Iterable) or isinstance(scopes, (bytes, dict)):
        raise InvalidScope("scopes must be a list of strings", field="scopes")
    result = set()
    for scope in scopes:
        result.add(validate_scope(scope))
        if len(result) > MAX_SCOPES:
            raise InvalidScope(f"at most {MAX_SCOPES} scopes", field="scopes")
    return tuple(sorted(result))


def covers(granted: str, required: str) -> bool:
    """Whether one granted scope covers one required scope."""
    if granted == required:
        return True
    if granted == "*":
        return not required.startswith(RESERVED)
    if granted.endswith(":*"):
        return required.startswith(granted[:-1]) and required != "*"
    return False


def allows(granted: Iterable[str], required: Iterable[str]) -> bool:
    """Whether the granted scopes cover every required scope.

    A bare string on either side counts as one scope, as in :func:`normalize_scopes`
    (iterating it would test single characters).
    """
    grants = (granted,) if isinstance(granted, str) else tuple(granted)
    needed = (required,) if isinstance(required, str) else required
    return all(any(covers(g, r) for g in grants) for r in needed)
