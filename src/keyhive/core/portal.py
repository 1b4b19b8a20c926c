"""Portal sessions: a short-lived page where an API's own customer manages their own keys.

An admin (the API's own app, holding ``keyhive:admin``) asks for a session bound to one
``owner``; the answer is a link carrying a one-time code. The code is random (256 bits),
shown once, and stored only as its SHA-256 digest: with that much randomness an
unkeyed digest cannot be reversed, so a copy of the database opens no portal. Its first
use swaps it for a cookie; after that, and after ``expires_at``, it opens nothing.

This module holds the value type and the rules of a session's parameters; the facade
(:mod:`keyhive.service.portal`) and the pages (``keyhive.server.web.portal``) use them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from keyhive.core import validation as check
from keyhive.core.durations import parse_duration
from keyhive.core.errors import InvalidInput, InvalidScope
from keyhive.core.scopes import RESERVED, normalize_scopes

DEFAULT_TTL: Final = timedelta(minutes=15)
MIN_TTL: Final = timedelta(minutes=1)
MAX_TTL: Final = timedelta(hours=24)
#: The audit actor of a portal change is ``portal:<owner>``; the actor column holds 200.
ACTOR_PREFIX: Final = "portal:"
MAX_OWNER: Final = check.MAX_NAME - len(ACTOR_PREFIX)
MAX_SECRETS_LIMIT: Final = 10_000
MAX_URL: Final = 2048
#: The longest grace period a portal rotation may give (the old key keeps working).
MAX_GRACE: Final = timedelta(days=7)
#: How long an expired session's row is kept (for the audit trail's sake, briefly).
KEEP_EXPIRED: Final = timedelta(days=1)
#: ``secrets.token_urlsafe(32)``: 43 characters of the URL-safe base64 alphabet.
_CODE: Final = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True, slots=True)
class PortalSession:
    """One portal session: whose keys it shows and what it lets them grant, until when.

    ``created_by`` is the admin secret that asked for it (None from the CLI or the
    library): revoking that secret ends the session. ``opened_at`` is when its one-time
    code was used (None: not yet).
    """

    session_id: str
    owner: str
    allowed_scopes: tuple[str, ...]
    max_secrets: int | None
    return_url: str | None
    created_by: str | None
    created_at: datetime
    expires_at: datetime
    opened_at: datetime | None = None

    @property
    def actor(self) -> str:
        """Who the audit log names for this session's changes."""
        return ACTOR_PREFIX + self.owner

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def to_dict(self) -> dict[str, Any]:
        """The public facts of the session (for the audit log): never its code."""
        return {
            "session_id": self.session_id,
            "owner": self.owner,
            "allowed_scopes": list(self.allowed_scopes),
            "max_secrets": self.max_secrets,
            "return_url": self.return_url,
            "created_by": self.created_by,
            "expires_at": self.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


@dataclass(frozen=True, slots=True)
class PortalLink:
    """A new session and the link that opens it. ``url`` holds the one-time code."""

    url: str = field(repr=False)
    session: PortalSession

    @property
    def expires_at(self) -> datetime:
        return self.session.expires_at


# -- the one-time code -----------------------------------------------------------------------


def new_code() -> str:
    return secrets.token_urlsafe(32)


def code_digest(code: str) -> str:
    """What the database keeps of a code (see the module docstring for why unkeyed)."""
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def looks_like_code(text: str) -> bool:
    """Whether ``text`` could be a code at all: anything else never reaches the database."""
    return bool(_CODE.fullmatch(text))


def new_session_id() -> str:
    return secrets.token_urlsafe(18)


# -- the rules of a session's parameters ------------------------------------------------------


def check_owner(owner: object) -> str:
    return check.required_text(owner, "owner", limit=MAX_OWNER)


def check_allowed_scopes(scopes: object) -> tuple[str, ...]:
    """At least one scope, and none of keyhive's own: a customer never grants those."""
    found = normalize_scopes(scopes)
    if not found:
        raise InvalidScope("allowed_scopes must name at least one scope", field="allowed_scopes")
    reserved = [s for s in found if s.startswith(RESERVED)]
    if reserved:
        raise InvalidScope(
            f"allowed_scopes must not hold keyhive's own scopes ({', '.join(reserved)})",
            field="allowed_scopes",
        )
    return found


def check_grant(chosen: object, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """The scopes a customer chose for a key: at least one, each one of ``allowed``."""
    found = normalize_scopes(chosen)
    if not found:
        raise InvalidScope("choose at least one scope", field="scopes")
    outside = [s for s in found if s not in allowed or s.startswith(RESERVED)]
    if outside:
        raise InvalidScope(
            f"this portal cannot grant {', '.join(outside)}: choose among " + ", ".join(allowed),
            field="scopes",
        )
    return found


def grantable(scopes: tuple[str, ...], allowed: tuple[str, ...]) -> bool:
    """Whether a key's scopes are all ones the portal could grant (so it may manage it)."""
    return all(s in allowed and not s.startswith(RESERVED) for s in scopes)


def check_max_secrets(value: object) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= MAX_SECRETS_LIMIT:
        raise InvalidInput(
            f"max_secrets must be a whole number from 0 to {MAX_SECRETS_LIMIT}",
            field="max_secrets",
        )
    return value


def check_ttl(ttl: object) -> timedelta:
    value = parse_duration(ttl)
    if not MIN_TTL <= value <= MAX_TTL:
        raise InvalidInput("ttl must be from 1m to 24h", field="ttl")
    return value


def check_grace(grace: object) -> timedelta:
    value = parse_duration(grace)
    if value > MAX_GRACE:
        raise InvalidInput("the grace period is at most 7 days here", field="grace")
    return value


def check_return_url(url: object) -> str | None:
    """An absolute http(s) URL with a host and no user name or password in it."""
    if url is None:
        return None
    return absolute_url(url, "return_url")


def absolute_url(url: object, name: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host, printable, no credentials."""
    text = check.required_text(url, name, limit=MAX_URL)
    if any(c.isspace() for c in text):
        raise InvalidInput(f"{name} must not contain spaces", field=name)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidInput(f"{name} is not a URL", field=name) from None
    del port
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{name} must be an absolute http:// or https:// URL", field=name)
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(f"{name} must not carry a user name or password", field=name)
    return text
