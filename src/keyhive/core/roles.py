"""Role names and the scopes a role may hold (no I/O; the facade is service/roles.py).

A role may hold any API scope, a bare ``*`` included, but none of keyhive's own
(``keyhive:admin``, ``keyhive:verify``, ``keyhive:*``): those are granted to a secret by
name only. So a role can never make an admin, and the last-admin rule, which reads
admins from secrets' own scopes, stays sound whatever roles exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from keyhive.core.errors import InvalidInput
from keyhive.core.scopes import RESERVED, normalize_scopes

_NAME_RE: Final = re.compile(r"[a-z0-9][a-z0-9_.\-]{0,63}")
#: How many roles one secret may hold.
MAX_ROLES: Final = 16


def validate_role_name(name: object) -> str:
    """A role's name: 1 to 64 of a-z, 0-9, ``_``, ``.`` and ``-``, starting with a letter
    or digit."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidInput(
            "a role's name must be 1 to 64 of a-z, 0-9, _, . and -, starting with a-z or 0-9",
            field="name",
        )
    return name


def role_scopes(scopes: object) -> tuple[str, ...]:
    """The scopes a role may hold: valid, sorted, none of keyhive's own."""
    checked = normalize_scopes(scopes)
    reserved = [scope for scope in checked if scope.startswith(RESERVED)]
    if reserved:
        raise InvalidInput(
            f"a role cannot hold keyhive's own scopes ({reserved[0]}): grant them to a "
            "secret directly",
            field="scopes",
        )
    return checked


def role_names(names: object) -> tuple[str, ...]:
    """The roles a secret is given: valid names, de-duplicated and sorted."""
    if names is None:
        return ()
    if isinstance(names, str):
        names = (names,)
    if not isinstance(names, Iterable) or isinstance(names, (bytes, dict)):
        raise InvalidInput("roles must be a list of role names", field="roles")
    found = sorted({validate_role_name(name) for name in names})
    if len(found) > MAX_ROLES:
        raise InvalidInput(f"at most {MAX_ROLES} roles", field="roles")
    return tuple(found)
