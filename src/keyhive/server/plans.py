"""Plans over HTTP: owners' limits (``/v1/owners/{owner}``) and roles (``/v1/roles``),
for callers holding keyhive:admin. Each route is one facade call, audited as the caller.
"""

from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from keyhive.core.addresses import TrustedProxies
from keyhive.core.model import Owner, Role
from keyhive.core.scopes import ADMIN_SCOPE
from keyhive.core.validation import TEXT_PATTERN
from keyhive.server.auth import caller
from keyhive.server.openapi import errors
from keyhive.server.schemas import OwnerOut, OwnerPut, RoleCreate, RoleList, RoleOut, RolePatch
from keyhive.service.hive_async import AsyncKeyHive

_READ = errors(401, 403, 404, 422, 429, 503)
_WRITE = errors(400, 401, 403, 404, 409, 413, 422, 429, 503)
OwnerName = Annotated[
    str, Path(min_length=1, max_length=200, pattern=TEXT_PATTERN, description="the owner text")
]
RoleName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,63}$", description="a role")]


def plans_router(hive: AsyncKeyHive, proxies: TrustedProxies) -> APIRouter:
    """The owner and role routes over the async facade."""
    Actor = Annotated[str, Depends(caller(hive, ADMIN_SCOPE, proxies))]  # noqa: N806
    router = APIRouter(prefix="/v1", tags=["plans"])

    async def one(call: Awaitable[Owner | Role]) -> dict[str, Any]:
        return (await call).to_dict()

    @router.get(
        "/owners/{owner}", response_model=OwnerOut, responses=_READ, summary="An owner's limits"
    )
    async def get_owner(actor: Actor, owner: OwnerName) -> dict[str, Any]:
        return await one(hive.get_owner_limits(owner))

    @router.put(
        "/owners/{owner}",
        response_model=OwnerOut,
        responses=_WRITE,
        summary="Set an owner's limits, shared by every secret of its clients",
    )
    async def put_owner(actor: Actor, owner: OwnerName, body: OwnerPut) -> dict[str, Any]:
        return await one(
            hive.set_owner_limits(
                owner, rate=body.rate, credits=body.credits, refill=body.refill, actor=actor
            )
        )

    @router.get("/roles", response_model=RoleList, responses=_READ, summary="List roles")
    async def list_roles(actor: Actor) -> dict[str, Any]:
        return {"items": [role.to_dict() for role in await hive.list_roles()]}

    @router.post(
        "/roles", status_code=201, response_model=RoleOut, responses=_WRITE, summary="Add a role"
    )
    async def create_role(actor: Actor, body: RoleCreate) -> dict[str, Any]:
        return await one(
            hive.create_role(
                body.name, scopes=body.scopes, description=body.description, actor=actor
            )
        )

    @router.get("/roles/{name}", response_model=RoleOut, responses=_READ, summary="Show a role")
    async def get_role(actor: Actor, name: RoleName) -> dict[str, Any]:
        return await one(hive.get_role(name))

    @router.patch(
        "/roles/{name}",
        response_model=RoleOut,
        responses=_WRITE,
        summary="Change a role's scopes or description (every secret holding it follows)",
    )
    async def patch_role(actor: Actor, name: RoleName, body: RolePatch) -> dict[str, Any]:
        changes = {field: getattr(body, field) for field in body.model_fields_set}
        if "scopes" in changes and changes["scopes"] is None:
            changes["scopes"] = []
        return await one(hive.update_role(name, actor=actor, **changes))

    @router.delete(
        "/roles/{name}",
        response_model=RoleOut,
        responses=_WRITE,
        summary="Delete a role (409 while a secret that is not revoked holds it)",
    )
    async def delete_role(actor: Actor, name: RoleName) -> dict[str, Any]:
        return await one(hive.delete_role(name, actor=actor))

    return router
