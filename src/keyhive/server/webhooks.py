"""The webhook API: endpoints, their deliveries and test events, for keyhive:admin callers.

Thin over the facade. Creating an endpoint answers its signing secret once; listing
never shows it. A hive that cannot keep signing secrets (no durable server key, or the
webhooks extra missing) answers 503 ``webhooks-unavailable``.
"""

from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Response

from keyhive.core.addresses import TrustedProxies
from keyhive.core.scopes import ADMIN_SCOPE
from keyhive.core.validation import TEXT_PATTERN
from keyhive.core.webhooks import WebhooksUnavailable
from keyhive.server.auth import caller
from keyhive.server.openapi import errors
from keyhive.server.problems import HTTPProblem
from keyhive.server.webhook_schemas import (
    DeliveryOut,
    DeliveryPage,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookOut,
)
from keyhive.service.hive_async import AsyncKeyHive

T = TypeVar("T")
WebhookId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=TEXT_PATTERN,
        description="a webhook_id",
        examples=["wh_..."],
    ),
]


async def _available(call: Awaitable[T]) -> T:
    try:
        return await call
    except WebhooksUnavailable as exc:
        raise HTTPProblem(503, str(exc), slug="webhooks-unavailable") from None


def webhooks_router(hive: AsyncKeyHive, proxies: TrustedProxies) -> APIRouter:
    Actor = Annotated[str, Depends(caller(hive, ADMIN_SCOPE, proxies))]  # noqa: N806
    router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
    read = errors(401, 403, 404, 422, 429, 503)

    @router.post(
        "",
        status_code=201,
        response_model=WebhookCreated,
        responses=errors(400, 401, 403, 409, 413, 422, 429, 503),
        summary="Add a webhook endpoint (its signing secret is in this response only)",
        description=(
            "Events are signed as Standard Webhooks. The URL must be https and resolve to "
            "public addresses only, unless `KEYHIVE_WEBHOOK_ALLOW_PRIVATE` is set (then "
            "http and private addresses are allowed too). 409 once 100 endpoints exist."
        ),
    )
    async def create(actor: Actor, body: WebhookCreate) -> dict[str, Any]:
        created = await _available(
            hive.create_webhook(
                body.url, list(body.events), description=body.description, actor=actor
            )
        )
        return created.to_dict()

    @router.get("", response_model=WebhookList, responses=read, summary="List webhook endpoints")
    async def list_(actor: Actor) -> dict[str, Any]:
        return {"items": [w.to_dict() for w in await hive.list_webhooks()]}

    @router.get(
        "/{webhook_id}", response_model=WebhookOut, responses=read, summary="Show a webhook"
    )
    async def show(actor: Actor, webhook_id: WebhookId) -> dict[str, Any]:
        return (await hive.get_webhook(webhook_id)).to_dict()

    @router.delete(
        "/{webhook_id}",
        status_code=204,
        responses=errors(401, 403, 404, 422, 429, 503),
        summary="Remove a webhook endpoint; its pending deliveries are dropped",
    )
    async def remove(actor: Actor, webhook_id: WebhookId) -> Response:
        await hive.remove_webhook(webhook_id, actor=actor)
        return Response(status_code=204)

    @router.get(
        "/{webhook_id}/deliveries",
        response_model=DeliveryPage,
        responses=read,
        summary="An endpoint's deliveries, newest first",
    )
    async def deliveries(
        actor: Actor,
        webhook_id: WebhookId,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        before: Annotated[int | None, Query(ge=1, le=2**62, description="a delivery_id")] = None,
    ) -> dict[str, Any]:
        found = await hive.webhook_deliveries(webhook_id, limit=limit, before=before)
        last = found[-1].delivery_id if len(found) == limit else None
        return {"items": [d.to_dict() for d in found], "next": last}

    @router.post(
        "/{webhook_id}/test",
        status_code=202,
        response_model=DeliveryOut,
        responses=errors(401, 403, 404, 409, 422, 429, 503),
        summary="Queue a webhook.test event for this endpoint",
        description="The sender of `keyhive serve` delivers it like any event; follow it "
        "in the endpoint's deliveries. 409 if the endpoint is disabled.",
    )
    async def test(actor: Actor, webhook_id: WebhookId) -> dict[str, Any]:
        return (await hive.test_webhook(webhook_id, actor=actor)).to_dict()

    return router
