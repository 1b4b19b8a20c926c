"""``keyhive audit``: read the append-only log of admin changes (it never holds secrets)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from keyhive.core.model import AuditEvent

from . import output
from ._app import Runtime, json_option, pass_runtime


def _changes(event: AuditEvent) -> str:
    """The fields an event changed, e.g. ``enabled: True -> False``."""
    before: Mapping[str, Any] = event.before or {}
    after: Mapping[str, Any] = event.after or {}
    if not before:
        return "created"
    changed = [k for k in after if before.get(k) != after.get(k)]
    return ", ".join(f"{k}: {before.get(k)} -> {after.get(k)}" for k in changed) or "-"


@click.command("audit")
@click.option(
    "--after",
    "after_id",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Only events after this event id (to page, or to follow new events).",
)
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=100, show_default=True, help="Page size."
)
@click.option(
    "--target", "target_id", metavar="ID", help="Only events about this client or secret."
)
@json_option
@pass_runtime
def audit(
    runtime: Runtime, after_id: int, limit: int, target_id: str | None, as_json: bool
) -> None:
    """Show audit events, oldest first: who changed what, when, before and after."""
    events = runtime.hive().audit(after_id=after_id, limit=limit, target_id=target_id)
    if as_json:
        output.emit_json([e.to_dict() for e in events])
        return
    output.table(
        None,
        ("id", "at", "actor", "action", "target", "changes"),
        (
            [
                str(e.id),
                output.when(e.at),
                e.actor or "-",
                e.action,
                f"{e.target_type} {e.target_id}",
                _changes(e),
            ]
            for e in events
        ),
    )
    if len(events) == limit:
        output.message(f"More may follow: --after {events[-1].id}", stderr=True)
