"""Facade errors as people read them on a page: a status and a sentence."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

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


def failed_context(
    exc: KeyhiveError,
    context_of: Callable[[], dict[str, Any]],
    form: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A page's context to show it again after ``exc``: its sentence, and what the form
    held so nothing typed is lost. A missing target is not retried: NotFound is raised
    again, so the page answers a plain 404 (an id that is not the visitor's included)."""
    if isinstance(exc, NotFound):
        raise exc
    context = context_of()
    context["error"] = message_for(exc)
    if form is not None:
        context["form"] = {k: v for k, v in form.items() if isinstance(v, str)}
    return context
