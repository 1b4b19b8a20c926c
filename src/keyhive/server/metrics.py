"""Prometheus metrics: verifications by code, requests and latency by route.

Every label value comes from the server (a route template, a method from a fixed list,
a status, a Code), never from the request, so no secret or client-chosen text reaches
a label and label sets stay small. Each app has its own registry, so several apps (in
tests) do not collide.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keyhive.model import Code

_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The service's metrics in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.verifications = Counter(
            "keyhive_verifications",
            "Credentials checked by /v1/verify and /v1/auth, by outcome code.",
            ["endpoint", "code"],
            registry=self.registry,
        )
        self.requests = Counter(
            "keyhive_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "keyhive_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["route", "method"],
            buckets=_BUCKETS,
            registry=self.registry,
        )

        # Label lookups cost microseconds each; the hot path keeps the children it used.
        self._verified: dict[tuple[str, Code | None], Any] = {}
        self._observed: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def verified(self, endpoint: str, code: Code | None) -> None:
        """Count one outcome; None means no credential could be read (MISSING)."""
        child = self._verified.get((endpoint, code))
        if child is None:
            child = self.verifications.labels(endpoint, code.value if code else "MISSING")
            self._verified[(endpoint, code)] = child
        child.inc()

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        children = self._observed.get((route, method, status))
        if children is None:
            label = method if method in _METHODS else "OTHER"
            children = (
                self.requests.labels(route, label, str(status)),
                self.latency.labels(route, label),
            )
            if len(self._observed) < 10_000:  # methods and statuses are few; stay bounded
                self._observed[(route, method, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Times every HTTP request and labels it with the template of the route it matched."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await timed(self.metrics, _matched_route, self.app, scope, receive, send)


def _matched_route(scope: Scope) -> str:
    return getattr(scope.get("route"), "path_format", None) or "unmatched"


async def timed(
    metrics: Metrics,
    route: Callable[[Scope], str],
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    """Run ``app`` and record its status and duration under ``route(scope)`` (read after)."""
    start = time.perf_counter()
    status = 500

    async def sending(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    try:
        await app(scope, receive, sending)
    finally:
        metrics.observe(route(scope), scope["method"], status, time.perf_counter() - start)
