"""Liveness, readiness and the metrics page: no authentication, nothing secret in them."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from keyhive.server.metrics import Metrics
from keyhive.server.openapi import errors
from keyhive.service.hive import KeyHive


def health_router(hive: KeyHive, metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="The database answers", responses=errors(503))
    async def readyz() -> dict[str, str]:
        # One cheap read; StorageUnavailable becomes a 503 problem.
        await run_in_threadpool(hive.store.last_audit_id)
        return {"status": "ready"}

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return router
