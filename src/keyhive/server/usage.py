"""The usage API: verifications per hour or day and per code, for a secret or a client.

Included before the admin router: ``/v1/clients/{client_id:path}`` would otherwise take
``.../usage`` as part of a client id.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from keyhive.core.addresses import TrustedProxies
from keyhive.core.scopes import ADMIN_SCOPE
from keyhive.core.usage import USAGE_CODES
from keyhive.server.auth import caller
from keyhive.server.openapi import errors
from keyhive.server.schemas import DURATION_PATTERN
from keyhive.service.hive_async import AsyncKeyHive

_READ = errors(401, 403, 404, 422, 429, 503)
_CODES = ", ".join(code.value for code in USAGE_CODES)
Since = Annotated[
    str,
    Query(
        pattern=DURATION_PATTERN,
        max_length=64,
        description="How far back: a duration such as 24h, 7d or 30d; at most 31d with "
        "hourly buckets, 400d with daily ones",
        examples=["7d"],
    ),
]
BucketParam = Annotated[
    Literal["hour", "day"], Query(description="Bucket size: UTC hours or UTC days")
]


class UsageOut(BaseModel):
    """Verifications per bucket and code; every attributable code is present."""

    bucket: Literal["hour", "day"]
    start: str = Field(description="start of the first bucket (inclusive), UTC")
    end: str = Field(description="end of the last bucket (exclusive), UTC")
    times: list[str] = Field(description="the start of each bucket, oldest first")
    series: dict[str, list[int]] = Field(
        description=f"per code ({_CODES}): the count in each bucket, aligned with times"
    )
    totals: dict[str, int] = Field(description="per code: the count over the whole period")


class SecretUsageOut(UsageOut):
    secret_id: str


class ClientUsageOut(UsageOut):
    client_id: str


def usage_router(hive: AsyncKeyHive, proxies: TrustedProxies) -> APIRouter:
    Actor = Annotated[str, Depends(caller(hive, ADMIN_SCOPE, proxies))]  # noqa: N806
    router = APIRouter(prefix="/v1", tags=["usage"])

    @router.get(
        "/secrets/{secret_id}/usage",
        response_model=SecretUsageOut,
        responses=_READ,
        summary="Verifications of a secret per hour or day and per code",
        description="NOT_FOUND verdicts match no secret, so they are not counted here. "
        "Counts from every node add up; each node writes its own within seconds.",
    )
    async def secret_usage(
        actor: Actor, secret_id: str, since: Since = "7d", bucket: BucketParam = "hour"
    ) -> dict[str, Any]:
        series = await hive.usage(secret_id, since, bucket)
        return {"secret_id": secret_id, **series.to_dict()}

    @router.get(
        "/clients/{client_id:path}/usage",
        response_model=ClientUsageOut,
        responses=_READ,
        summary="Verifications of all of a client's secrets per hour or day and per code",
    )
    async def client_usage(
        actor: Actor, client_id: str, since: Since = "7d", bucket: BucketParam = "hour"
    ) -> dict[str, Any]:
        series = await hive.client_usage(client_id, since, bucket)
        return {"client_id": client_id, **series.to_dict()}

    return router
