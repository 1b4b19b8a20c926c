"""``POST /v1/portal/sessions``: a one-time link to the self-service portal for one owner.

The link's base is ``KEYHIVE_PUBLIC_URL`` when set, else the address this request came
to (right for a keyhive reached directly; behind a proxy that rewrites the host, set
the variable). The answer holds a one-time code, so it is never cached.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from keyhive.core.addresses import TrustedProxies
from keyhive.core.scopes import ADMIN_SCOPE
from keyhive.server.auth import caller
from keyhive.server.openapi import errors
from keyhive.server.portal_schemas import PortalSessionCreate, PortalSessionOut
from keyhive.service.hive_async import AsyncKeyHive

_WRITE = errors(400, 401, 403, 409, 413, 422, 429, 503)


def portal_router(hive: AsyncKeyHive, proxies: TrustedProxies) -> APIRouter:
    Actor = Annotated[str, Depends(caller(hive, ADMIN_SCOPE, proxies))]  # noqa: N806
    router = APIRouter(prefix="/v1", tags=["portal"])
    configured = hive.hive.settings.public_base()

    @router.post(
        "/portal/sessions",
        status_code=201,
        response_model=PortalSessionOut,
        responses=_WRITE,
        summary="Open a self-service portal session for one owner (a one-time link)",
        description="Redirect the customer to `url` at once: it works once, until "
        "`expires_at`, and the session it opens ends then too, or as soon as the admin "
        "secret that made it is revoked. The owner's client is created (named "
        "`client_name`) if they have none.",
    )
    async def create_session(
        actor: Actor, body: PortalSessionCreate, request: Request, response: Response
    ) -> dict[str, Any]:
        base = configured or str(request.base_url).rstrip("/")
        made = await hive.create_portal_session(
            body.owner,
            allowed_scopes=body.allowed_scopes,
            max_secrets=body.max_secrets,
            return_url=body.return_url,
            ttl=body.ttl,
            client_name=body.client_name,
            base_url=base,
            created_by=actor,
            actor=actor,
        )
        response.headers["Cache-Control"] = "no-store"
        return {"url": made.url, "expires_at": made.expires_at}

    return router
