"""The ASGI app factory: hot routes first, then the admin API, health and metrics.

``uvicorn keyhive.server.app:create_app_from_env --factory`` serves it; ``keyhive serve``
does the same. Tests pass their own hive to :func:`create_app`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from keyhive.core.addresses import TrustedProxies
from keyhive.core.settings import Settings
from keyhive.server import heap, leaks, openapi, problems
from keyhive.server.admin import admin_router
from keyhive.server.audit_head import audit_head_router
from keyhive.server.bodylimit import MAX_BODY, BodyLimitMiddleware
from keyhive.server.docs import docs_router
from keyhive.server.health import health_router
from keyhive.server.hot import TARPIT, HotPath
from keyhive.server.leaks import leaks_router
from keyhive.server.methods import MethodGuard
from keyhive.server.metrics import Metrics, MetricsMiddleware
from keyhive.server.plans import plans_router
from keyhive.server.portal import portal_router
from keyhive.server.usage import usage_router
from keyhive.server.web import dashboard_app, portal_app
from keyhive.server.webhooks import webhooks_router
from keyhive.service.hive import KeyHive
from keyhive.service.hive_async import AsyncKeyHive
from keyhive.service.portal import PORTAL_PATH

try:
    from keyhive.server.oauth import oauth_router
except ImportError:  # pragma: no cover - the oauth extra (joserfc) is not installed
    oauth_router = None  # type: ignore[assignment]
try:
    from keyhive.service.webhook_sender import WebhookSender
except ImportError:  # pragma: no cover - the webhooks extra is not installed
    WebhookSender = None  # type: ignore[assignment,misc]

_DESCRIPTION = """\
Issue, store and verify API keys and secrets.

Authenticate with a keyhive secret: `Authorization: Bearer <token>`, `X-API-Key: <token>`
or HTTP Basic `client_id:secret`. The admin API needs scope `keyhive:admin`,
`POST /v1/verify` needs `keyhive:verify`. Errors are RFC 9457 `application/problem+json`.
"""


def _version() -> str:
    try:
        return version("keyhive")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


class KeyhiveAPI(FastAPI):
    """FastAPI with the hot routes answered in front of it.

    The two hot paths skip FastAPI's and Starlette's per-request machinery (middleware
    stack, routing, telemetry checks) entirely; everything else is plain FastAPI.
    """

    def __init__(self, hot: HotPath, **options: Any) -> None:
        super().__init__(**options)
        self.hot = hot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in HotPath.PATHS:
            await self.hot(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(
    hive: KeyHive | None = None,
    settings: Settings | None = None,
    *,
    max_body: int = MAX_BODY,
    tarpit: float = TARPIT,
    webhooks: bool = True,
    settle_heap: bool = False,
) -> FastAPI:
    """The service over ``hive`` (or a KeyHive built from ``settings`` / the environment).

    On shutdown a hive the app built is closed; a hive passed in belongs to the caller
    and is only flushed, so its batched usage counts are written either way. While the
    app runs (its lifespan), a webhook sender delivers the outbox from a thread of its
    own; ``webhooks=False`` leaves that to another process. ``settle_heap`` freezes the
    heap once started (:mod:`keyhive.server.heap`): right for a process that is only
    this service (``keyhive serve``), not for an app that mounts it beside its own.
    """
    owned = hive is None
    service = hive if hive is not None else KeyHive(settings=settings or Settings.from_env())
    async_hive = AsyncKeyHive(service)
    proxies = TrustedProxies(service.settings.trusted_proxies)
    metrics = Metrics(shared_dir=service.settings.metrics_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        metrics.start()
        sender = WebhookSender.for_hive(service) if webhooks and WebhookSender is not None else None
        if sender is not None:
            sender.start()
        if settle_heap:
            heap.settle()
        try:
            yield
        finally:
            if sender is not None:
                await run_in_threadpool(sender.stop)
            metrics.close()
            await run_in_threadpool(service.close if owned else service.flush)

    app = KeyhiveAPI(
        HotPath(async_hive, metrics, max_body, tarpit, proxies),
        title="keyhive",
        version=_version(),
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by keyhive.server.docs, without a CDN
        redoc_url=None,
    )
    app.state.hive = service
    app.state.metrics = metrics
    routers = [
        usage_router(async_hive, proxies),  # before admin: {client_id:path}
        admin_router(async_hive, proxies),
        audit_head_router(async_hive, proxies),
        plans_router(async_hive, proxies),
        portal_router(async_hive, proxies),
        leaks_router(service),
        webhooks_router(async_hive, proxies),
        health_router(service, metrics),
        *([oauth_router(service)] if oauth_router is not None else []),
        docs_router(app.title),
    ]
    for router in routers:
        app.include_router(router)
    app.mount("/dashboard", dashboard_app(service, "/dashboard"))
    app.mount(PORTAL_PATH, portal_app(service, PORTAL_PATH))  # where portal links point
    problems.install(app)
    openapi.install(app)
    # Every route's own path and methods (included routers are wrapped, not copied).
    routes = [*app.router.routes, *(route for router in routers for route in router.routes)]
    app.add_middleware(MethodGuard, routes=routes)
    app.add_middleware(BodyLimitMiddleware, limit=max_body, overrides={leaks.PATH: leaks.MAX_BODY})
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def create_app_from_env() -> FastAPI:
    """The app configured by ``KEYHIVE_*`` variables (for ``uvicorn --factory``)."""
    return create_app(settings=Settings.from_env(), settle_heap=True)
