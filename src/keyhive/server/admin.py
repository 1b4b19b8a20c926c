"""The admin API: clients, secrets and the audit log, for callers holding keyhive:admin.

Each route is a thin call into the facade (in the thread pool: it may hash or write),
with the caller's secret_id as the audit actor. Client ids are base64 and may contain
``/``, so client routes use ``{client_id:path}``; the routes with a suffix come first.
"""

from collections.abc import Awaitable
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Query

from keyhive.core.addresses import TrustedProxies
from keyhive.core.model import Client
from keyhive.core.scopes import ADMIN_SCOPE
from keyhive.core.validation import MAX_ID, MAX_NAME, TEXT_PATTERN
from keyhive.server.auth import caller
from keyhive.server.openapi import errors
from keyhive.server.schemas import (
    AuditPage,
    ClientCreate,
    ClientOut,
    ClientPage,
    ClientPatch,
    IssuedOut,
    RevokeBody,
    RotateBody,
    SecretIssue,
    SecretList,
    SecretOut,
    SecretPatch,
)
from keyhive.service.hive_async import AsyncKeyHive

_READ = errors(401, 403, 404, 422, 429, 503)
_WRITE = errors(400, 401, 403, 404, 409, 413, 422, 429, 503)


class _Record(Protocol):
    """What the facade returns for one client, secret or issued secret."""

    def to_dict(self) -> dict[str, Any]: ...


def admin_router(hive: AsyncKeyHive, proxies: TrustedProxies) -> APIRouter:
    """The admin routes over the async facade (each call one hop to its thread pool).

    Changes made over HTTP never remove the last active admin secret (``keep_admin``):
    that would lock every operator out of this API.
    """
    Actor = Annotated[str, Depends(caller(hive, ADMIN_SCOPE, proxies))]  # noqa: N806
    router = APIRouter(prefix="/v1", tags=["admin"])

    async def one(call: Awaitable[_Record]) -> dict[str, Any]:
        """Await a facade call; answer the record it returns."""
        record = await call
        return record.to_dict()

    # -- clients ---------------------------------------------------------------------------
    @router.get("/clients", response_model=ClientPage, responses=_READ, summary="List clients")
    async def list_clients(
        actor: Actor,
        owner: Annotated[
            str | None, Query(min_length=1, max_length=MAX_NAME, pattern=TEXT_PATTERN)
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        after: Annotated[
            str | None,
            Query(min_length=1, max_length=MAX_ID, pattern=TEXT_PATTERN, description="a client_id"),
        ] = None,
    ) -> dict[str, Any]:
        clients = await hive.list_clients(owner=owner, limit=limit, after=after)
        last = clients[-1].client_id if len(clients) == limit else None
        return {"items": [c.to_dict() for c in clients], "next": last}

    @router.post(
        "/clients",
        status_code=201,
        response_model=ClientOut,
        responses=_WRITE,
        summary="Create a client",
    )
    async def create_client(actor: Actor, body: ClientCreate) -> dict[str, Any]:
        return await one(
            hive.create_client(body.name, owner=body.owner, metadata=body.metadata, actor=actor)
        )

    @router.get(
        "/clients/{client_id:path}/secrets",
        response_model=SecretList,
        responses=_READ,
        summary="List a client's secrets",
    )
    async def list_secrets(actor: Actor, client_id: str) -> dict[str, Any]:
        secrets = await hive.list_secrets(client_id)
        return {"items": [s.to_dict() for s in secrets]}

    @router.post(
        "/clients/{client_id:path}/secrets",
        status_code=201,
        response_model=IssuedOut,
        responses=_WRITE,
        summary="Issue a secret (the token is in this response only)",
    )
    async def issue_secret(actor: Actor, client_id: str, body: SecretIssue) -> dict[str, Any]:
        return await one(
            hive.issue_secret(
                client_id,
                scopes=body.scopes,
                name=body.name,
                expires_in=body.expires_in,
                expires_at=body.expires_at,
                rate=body.rate,
                credits=body.credits,
                refill=body.refill,
                allowed_ips=body.allowed_ips,
                roles=body.roles,
                actor=actor,
            )
        )

    @router.post(
        "/clients/{client_id:path}/disable",
        response_model=ClientOut,
        responses=_WRITE,
        summary="Disable a client: its secrets answer DISABLED",
    )
    async def disable_client(actor: Actor, client_id: str) -> dict[str, Any]:
        return await one(hive.disable_client(client_id, actor=actor, keep_admin=True))

    @router.post(
        "/clients/{client_id:path}/enable",
        response_model=ClientOut,
        responses=_WRITE,
        summary="Enable a client again",
    )
    async def enable_client(actor: Actor, client_id: str) -> dict[str, Any]:
        return await one(hive.enable_client(client_id, actor=actor))

    @router.get(
        "/clients/{client_id:path}",
        response_model=ClientOut,
        responses=_READ,
        summary="Show a client",
    )
    async def get_client(actor: Actor, client_id: str) -> dict[str, Any]:
        return await one(hive.get_client(client_id))

    @router.patch(
        "/clients/{client_id:path}",
        response_model=ClientOut,
        responses=_WRITE,
        summary="Change a client's name, owner, metadata or enabled flag",
    )
    async def patch_client(actor: Actor, client_id: str, body: ClientPatch) -> dict[str, Any]:
        return await one(_patch_client(hive, client_id, body, actor))

    # -- secrets ---------------------------------------------------------------------------
    @router.get(
        "/secrets/{secret_id}", response_model=SecretOut, responses=_READ, summary="Show a secret"
    )
    async def get_secret(actor: Actor, secret_id: str) -> dict[str, Any]:
        return await one(hive.get_secret(secret_id))

    @router.patch(
        "/secrets/{secret_id}",
        response_model=SecretOut,
        responses=_WRITE,
        summary="Change a secret's scopes, name, expiry or limits",
    )
    async def patch_secret(actor: Actor, secret_id: str, body: SecretPatch) -> dict[str, Any]:
        changes = {field: getattr(body, field) for field in body.model_fields_set}
        if not changes:
            return await one(hive.get_secret(secret_id))
        return await one(hive.update(secret_id, actor=actor, keep_admin=True, **changes))

    @router.post(
        "/secrets/{secret_id}/revoke",
        response_model=SecretOut,
        responses=_WRITE,
        summary="Revoke a secret now",
    )
    async def revoke(
        actor: Actor, secret_id: str, body: RevokeBody | None = None
    ) -> dict[str, Any]:
        reason = body.reason if body else None
        return await one(hive.revoke(secret_id, reason=reason, actor=actor, keep_admin=True))

    @router.post(
        "/secrets/{secret_id}/rotate",
        status_code=201,
        response_model=IssuedOut,
        responses=_WRITE,
        summary="Issue a successor; the old secret stays valid for the grace period",
    )
    async def rotate(
        actor: Actor, secret_id: str, body: RotateBody | None = None
    ) -> dict[str, Any]:
        grace = body.grace if body else "0s"
        return await one(hive.rotate(secret_id, grace=grace, actor=actor))

    # -- audit -----------------------------------------------------------------------------
    @router.get("/audit", response_model=AuditPage, responses=_READ, summary="The audit log")
    async def audit(
        actor: Actor,
        after: Annotated[int, Query(ge=0, le=2**62, description="an event id")] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        target: Annotated[
            str | None,
            Query(
                min_length=1,
                max_length=MAX_ID,
                pattern=TEXT_PATTERN,
                description="a client_id or secret_id",
            ),
        ] = None,
    ) -> dict[str, Any]:
        events = await hive.audit(after_id=after, limit=limit, target_id=target)
        last = events[-1].id if len(events) == limit else None
        return {"items": [e.to_dict() for e in events], "next": last}

    return router


async def _patch_client(
    hive: AsyncKeyHive, client_id: str, body: ClientPatch, actor: str
) -> Client:
    """Apply the fields present in a PATCH, each through the facade so each is audited.

    Each call changes only its own fields, so a concurrent disable is never undone.
    """
    changes = {f: getattr(body, f) for f in body.model_fields_set if f != "enabled"}
    client = await hive.update_client(client_id, actor=actor, **changes) if changes else None
    if body.enabled is True:
        client = await hive.enable_client(client_id, actor=actor)
    elif body.enabled is False:
        client = await hive.disable_client(client_id, actor=actor, keep_admin=True)
    return client or await hive.get_client(client_id)
