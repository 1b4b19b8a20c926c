"""``keyhive webhook ...``: endpoints that receive signed events, and their deliveries.

``add`` prints the signing secret once, alone on stdout (``SECRET=$(keyhive webhook add
...)``), its details on stderr. ``keyhive serve`` delivers the events; ``test`` queues one.
"""

from __future__ import annotations

import click

from keyhive.core.webhooks import ALL_EVENTS, EVENT_TYPES, Delivery, Webhook

from . import output
from ._app import Runtime, json_option, pass_runtime


@click.group("webhook")
def webhook() -> None:
    """Webhooks: signed events (Standard Webhooks) sent to your endpoints."""


def _fields(hook: Webhook) -> dict[str, str]:
    fields = {
        "webhook_id": hook.webhook_id,
        "url": hook.url,
        "events": " ".join(hook.events),
        "description": hook.description or "-",
        "enabled": "yes" if hook.enabled else "no",
        "created_at": output.when(hook.created_at),
    }
    if hook.disabled_reason:
        fields["disabled"] = f"{output.when(hook.disabled_at)}: {hook.disabled_reason}"
    return fields


@webhook.command("add")
@click.argument("url")
@click.option(
    "--event",
    "events",
    multiple=True,
    required=True,
    type=click.Choice([ALL_EVENTS, *EVENT_TYPES]),
    help="An event type to receive (repeatable); * for all.",
)
@click.option("--description", help="What the endpoint is, for people.")
@json_option
@pass_runtime
def add(
    runtime: Runtime, url: str, events: tuple[str, ...], description: str | None, as_json: bool
) -> None:
    """Add an endpoint; prints its signing secret (whsec_...) once.

    The URL must be https and resolve to public addresses, unless
    KEYHIVE_WEBHOOK_ALLOW_PRIVATE is set.
    """
    created = runtime.hive().create_webhook(
        url, list(events), description=description, actor=runtime.actor
    )
    if as_json:
        output.emit_json(created.to_dict())
        return
    output.record("Webhook added", _fields(created.webhook), stderr=True)
    click.echo(created.secret)
    output.message("The signing secret is shown this once: receivers verify with it.", stderr=True)


@webhook.command("list")
@json_option
@pass_runtime
def list_(runtime: Runtime, as_json: bool) -> None:
    """List endpoints, oldest first."""
    hooks = runtime.hive().list_webhooks()
    if as_json:
        output.emit_json([h.to_dict() for h in hooks])
        return
    output.table(
        None,
        ("webhook_id", "url", "events", "enabled", "description"),
        (
            [
                h.webhook_id,
                h.url,
                " ".join(h.events),
                "yes" if h.enabled else f"no ({h.disabled_reason or 'disabled'})",
                h.description or "-",
            ]
            for h in hooks
        ),
    )


@webhook.command("remove")
@click.argument("webhook_id")
@json_option
@pass_runtime
def remove(runtime: Runtime, webhook_id: str, as_json: bool) -> None:
    """Remove an endpoint; its pending deliveries are dropped."""
    gone = runtime.hive().remove_webhook(webhook_id, actor=runtime.actor)
    if as_json:
        output.emit_json(gone.to_dict())
    else:
        output.message(f"Webhook {gone.webhook_id} removed.")


@webhook.command("test")
@click.argument("webhook_id")
@json_option
@pass_runtime
def test(runtime: Runtime, webhook_id: str, as_json: bool) -> None:
    """Queue a webhook.test event for this endpoint (keyhive serve delivers it)."""
    queued = runtime.hive().test_webhook(webhook_id, actor=runtime.actor)
    if as_json:
        output.emit_json(queued.to_dict())
    else:
        output.message(
            f"Test event {queued.event_id} queued as delivery {queued.delivery_id}; "
            f"see: keyhive webhook deliveries {webhook_id}"
        )


def _row(d: Delivery) -> list[str]:
    answer = str(d.last_status) if d.last_status is not None else (d.last_error or "-")
    return [
        str(d.delivery_id),
        d.event_id,
        d.type,
        d.status,
        str(d.attempts),
        answer,
        output.when(d.next_attempt_at if d.status == "pending" else d.last_attempt_at),
    ]


@webhook.command("deliveries")
@click.argument("webhook_id")
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="Page size."
)
@click.option(
    "--before", type=click.IntRange(min=1), metavar="DELIVERY_ID", help="Older than this one."
)
@json_option
@pass_runtime
def deliveries(
    runtime: Runtime, webhook_id: str, limit: int, before: int | None, as_json: bool
) -> None:
    """An endpoint's deliveries, newest first: status, attempts, the last answer."""
    found = runtime.hive().webhook_deliveries(webhook_id, limit=limit, before=before)
    if as_json:
        output.emit_json([d.to_dict() for d in found])
        return
    output.table(
        None,
        ("delivery", "event id", "type", "status", "attempts", "last answer", "next / last"),
        (_row(d) for d in found),
    )
    if len(found) == limit:
        output.message(f"More may follow: --before {found[-1].delivery_id}", stderr=True)
