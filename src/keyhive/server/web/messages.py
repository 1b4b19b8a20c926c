"""Facade errors as people read them on a page: a status and a sentence."""

from __future__ import annotations

from keyhive.core.errors import Conflict, InvalidInput, KeyhiveError, NotFound, StorageUnavailable


def status_for(exc: KeyhiveError) -> int:
    """The HTTP status a facade error is shown with."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, StorageUnavailable):
        return 503
    if isinstance(exc, InvalidInput):
        return 422
    return 400


def message_for(exc: KeyhiveError) -> str:
    """A facade error as a sentence (ids are public; a not-found names the kind only)."""
    if isinstance(exc, NotFound):
        return f"No such {exc.kind}."
    if isinstance(exc, StorageUnavailable):
        return "The database is not answering right now; try again in a moment."
    text = str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
