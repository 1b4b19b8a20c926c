"""``keyhive audit``: read the append-only log of admin changes (it never holds secrets),
and ``keyhive audit verify``: check its hash chain (:mod:`keyhive.core.audit_chain`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from keyhive.core.audit_chain import Anchor, ChainReport
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


@click.group("audit", invoke_without_command=True)
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
@click.pass_context
def audit(
    ctx: click.Context, after_id: int, limit: int, target_id: str | None, as_json: bool
) -> None:
    """Show audit events, oldest first: who changed what, when, before and after.

    `keyhive audit verify` checks that none was changed, removed or inserted.
    """
    if ctx.invoked_subcommand is not None:
        return
    runtime = ctx.find_object(Runtime)
    assert runtime is not None
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


def _anchor(ctx: click.Context, param: click.Parameter, value: str | None) -> Anchor | None:
    if value is None:
        return None
    try:
        return Anchor.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


@audit.command("verify")
@click.option(
    "--anchor",
    callback=_anchor,
    metavar="ID:HASH",
    help="A head recorded earlier (GET /v1/audit/head): event ID must still have HASH.",
)
@json_option
@pass_runtime
def verify(runtime: Runtime, anchor: Anchor | None, as_json: bool) -> None:
    """Check the audit log's hash chain: exit 0 if intact, 1 naming the first event that
    was changed, removed or inserted."""
    report = runtime.hive().verify_audit(anchor=anchor)
    if as_json:
        output.emit_json(report.to_dict())
    else:
        for line in _verdict(report):
            output.message(line)
    if not report.ok:
        raise click.exceptions.Exit(1)


def _verdict(report: ChainReport) -> list[str]:
    lines = []
    if report.unhashed:
        start = (
            f"the chain starts at event {report.first_id}"
            if report.first_id
            else ("no event has a hash yet")
        )
        lines.append(
            f"{report.unhashed} event(s) written before the chain began carry no hash; {start}."
        )
    if report.broken is not None:
        lines.append(f"Audit log broken: {report.broken.detail}.")
        lines.append(f"{report.verified} event(s) before it verified.")
        return lines
    head = report.head
    if head is None:
        lines.append("The audit log is empty: nothing to verify.")
    elif report.verified:
        lines.append(
            f"Verified {report.verified} audit event(s), {report.first_id} to {head.id}; "
            f"head: {head.id}:{head.hash}"
        )
    return lines
