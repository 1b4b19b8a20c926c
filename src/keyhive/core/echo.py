"""What of a caller's input an error message may repeat: little, and never a credential.

A token pasted where a scope, an id or a duration belongs must not come back in the
error, its log line or the CLI's output. Messages therefore repeat at most 11
characters of free text (too few to hold a 12-character run of a token's random part,
the length a leak scan looks for), and ids only when they have the shape of an id
keyhive hands out and hold nothing shaped like a token.
"""

from __future__ import annotations

import re
from typing import Final

from keyhive.core.tokens import is_secret_id

#: The most characters of free text a message repeats.
MAX_ECHO: Final = 11
NOT_AN_ID: Final = "(not a valid id)"
# What a client id may look like to be repeated: printable ASCII without spaces (every
# format generate_key makes, and most imported ids), holding nothing shaped like a token.
_CLIENT_ID: Final = re.compile(r"[!-~]{1,128}")
_TOKENISH: Final = re.compile(r"[a-z0-9]{2,16}_[0-9A-Za-z]{16}_[0-9A-Za-z]{12}")
_TOKENISH_RUN: Final = re.compile(r"[a-z0-9]{2,16}_[0-9A-Za-z]{16}_[0-9A-Za-z]{12,}")


def excerpt(text: object) -> str:
    """The start of ``text`` fit for a message, quoted: at most 11 characters, then ``…``."""
    if not isinstance(text, str):
        return f"<{type(text).__name__}>"
    if not text.isprintable():
        return "<unprintable>"
    if len(text) > MAX_ECHO:
        return repr(text[:MAX_ECHO] + "…")
    return repr(text)


def shown_id(kind: str, ident: object) -> str:
    """``ident`` if it has the shape of a public ``kind`` id ("secret" or "client"), else
    ``(not a valid id)``."""
    if not isinstance(ident, str):
        return NOT_AN_ID
    if kind == "secret":
        return ident if is_secret_id(ident) else NOT_AN_ID
    if _CLIENT_ID.fullmatch(ident) and _TOKENISH.search(ident) is None:
        return ident
    return NOT_AN_ID


def redact(text: str) -> str:
    """``text`` with anything shaped like a token replaced by ``<token>``.

    A safety net for messages built by code keyhive does not control (click's usage
    errors repeat the argument they could not use).
    """
    return _TOKENISH_RUN.sub("<token>", text)
