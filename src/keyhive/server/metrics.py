"""Prometheus metrics: verifications by code, requests and latency by route.

Every label value comes from the server (a route template, a method from a fixed list,
a status, a Code), never from the request, so no secret or client-chosen text reaches
a label and label sets stay small. Each app has its own registry, so several apps (in
tests) do not collide. With several worker processes, a shared directory sums them
(:mod:`keyhive.server.metrics_shared`).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterator
from typing import Final

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keyhive.core.model import Code
from keyhive.server.metrics_shared import SharedTallies, Tallies

_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The service's metrics in one registry.

    Counts are kept in plain dicts and turned into Prometheus families when scraped:
    every request updates them, so the per-request cost is a dict update, not a
    locked client-library call. They are only updated from the event loop.

    With ``shared_dir`` (several workers), scrapes show the sum over every worker, and
    the per-process ``process_*`` metrics are left out: no one process speaks for all.
    """

    def __init__(self, shared_dir: str | None = None) -> None:
        self.registry = CollectorRegistry()
        self.shared = SharedTallies(shared_dir, len(_BUCKETS) + 1) if shared_dir else None
        if self.shared is None:
            ProcessCollector(registry=self.registry)
        self._verified: dict[tuple[str, str], int] = {}
        self._requests: dict[tuple[str, str, int], int] = {}
        self._latency: dict[tuple[str, str], _Latency] = {}
        self.registry.register(_Families(self))

    def start(self) -> None:
        """Begin writing this worker's tallies for the others (no-op without a shared dir)."""
        if self.shared is not None:
            self.shared.start(self.snapshot)

    def close(self) -> None:
        if self.shared is not None:
            self.shared.stop(self.snapshot)

    def snapshot(self) -> Tallies:
        """A copy of this process's tallies (safe from another thread: dict copies are
        atomic under the GIL)."""
        return Tallies(
            verified=dict(self._verified),
            requests=dict(self._requests),
            latency={k: (list(v.counts), v.total) for k, v in list(self._latency.items())},
        )

    def tallies(self) -> Tallies:
        """What a scrape shows: this process's tallies, plus the other workers' if shared."""
        own = self.snapshot()
        return self.shared.total(own) if self.shared is not None else own

    def verified(self, endpoint: str, code: Code | None) -> None:
        """Count one outcome; None means no credential could be read (MISSING)."""
        key = (endpoint, code.value if code else "MISSING")
        self._verified[key] = self._verified.get(key, 0) + 1

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else "OTHER"
        key = (route, method, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        latency = self._latency.get((route, method))
        if latency is None:
            latency = self._latency[(route, method)] = _Latency()
        latency.add(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Latency:
    """One histogram series: a count per bucket (the last is +Inf) and the sum."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(_BUCKETS) + 1)
        self.total = 0.0

    def add(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(_BUCKETS, seconds)] += 1
        self.total += seconds


class _Families:
    """Turns the tallies into Prometheus metric families at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def collect(self) -> Iterator[Metric]:
        tallies = self._m.tallies()
        verified = CounterMetricFamily(
            "keyhive_verifications",
            "Credentials checked by /v1/verify and /v1/auth, by outcome code.",
            labels=["endpoint", "code"],
        )
        for (endpoint, code), count in tallies.verified.items():
            verified.add_metric([endpoint, code], count)
        yield verified
        requests = CounterMetricFamily(
            "keyhive_http_requests",
            "HTTP requests by route template, method and status.",
            labels=["route", "method", "status"],
        )
        for (route, method, status), count in tallies.requests.items():
            requests.add_metric([route, method, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "keyhive_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            labels=["route", "method"],
        )
        for (route, method), (counts, total) in tallies.latency.items():
            cumulative, buckets = 0, []
            for bound, count in zip((*map(str, _BUCKETS), "+Inf"), counts, strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            latency.add_metric([route, method], buckets, sum_value=total)
        yield latency


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
