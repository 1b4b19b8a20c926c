"""CSRF tokens: every form carries its session's secret, and a POST must bring it back.

The secret lives in the HttpOnly, SameSite cookie of :mod:`.sessions`; another site can
neither read it nor (SameSite) make the browser send it, so a forged form fails twice.
Comparison is constant-time.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Final

from markupsafe import Markup, escape

from keyhive.server.web.sessions import Session

FIELD: Final = "csrf_token"


class CsrfFailure(Exception):
    """A form came without its session's CSRF token (answered 403)."""


def check(session: Session | None, form: Mapping[str, object]) -> None:
    """Raise CsrfFailure unless ``form`` carries ``session``'s token."""
    given = form.get(FIELD)
    if session is None or not isinstance(given, str) or not given:
        raise CsrfFailure("the form has no valid CSRF token")
    if not hmac.compare_digest(given.encode(), session.csrf.encode()):
        raise CsrfFailure("the form has no valid CSRF token")


def hidden_field(session: Session | None) -> Markup:
    """The hidden input every form of ``session``'s pages carries."""
    if session is None:
        return Markup("")
    field = f'<input type="hidden" name="{FIELD}" value="{escape(session.csrf)}">'
    return Markup(field)  # noqa: S704 - the value is escaped
