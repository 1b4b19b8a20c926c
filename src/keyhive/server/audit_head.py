"""``GET /v1/audit/head``: the newest audit event's id and hash, to record somewhere else.

The audit log is a hash chain (:mod:`keyhive.core.audit_chain`). Whoever can write the
database can rewrite the chain from any point on; a head copied elsewhere now and
then (a ticket, a log service, another database) shows that: ``keyhive audit verify
--anchor ID:HASH`` fails once event ID no longer has that hash.
"""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from keyhive.core.addresses import TrustedProxies
from keyhive.core.scopes import ADMIN_SCOPE
from keyhive.server.auth import caller
from keyhive.server.openapi import errors
from keyhive.service.hive_async import AsyncKeyHive


class AuditHeadOut(BaseModel):
    """The newest event (all null while the log is empty; ``hash`` null before the chain)."""

    id: int | None
    hash: str | None = Field(description="SHA-256 hex over the event and the hash before it")
    at: datetime | None
    anchor: str | None = Field(description="ID:HASH, as `keyhive audit verify --anchor` takes it")


def audit_head_router(hive: AsyncKeyHive, proxies: TrustedProxies) -> APIRouter:
    Actor = Annotated[str, Depends(caller(hive, ADMIN_SCOPE, proxies))]  # noqa: N806
    router = APIRouter(prefix="/v1", tags=["admin"])

    @router.get(
        "/audit/head",
        response_model=AuditHeadOut,
        responses=errors(401, 403, 429, 503),
        summary="The audit chain's head: the newest event's id and hash",
    )
    async def audit_head(actor: Actor) -> dict[str, Any]:
        head = await hive.audit_head()
        if head is None:
            return {"id": None, "hash": None, "at": None, "anchor": None}
        anchor = f"{head.id}:{head.hash}" if head.hash is not None else None
        return {"id": head.id, "hash": head.hash, "at": head.event.at, "anchor": anchor}

    return router
