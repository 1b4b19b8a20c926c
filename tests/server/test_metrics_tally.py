"""The hot path's tallies come out as proper Prometheus families."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from keyhive.core.model import Code
from keyhive.server.metrics import Metrics


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for s in family.samples
        if s.name.startswith("keyhive_")
    }


def test_counts_and_cumulative_buckets() -> None:
    metrics = Metrics()
    metrics.verified("auth", Code.VALID)
    metrics.verified("auth", Code.VALID)
    metrics.verified("auth", None)
    for seconds in (0.0004, 0.0005, 0.003, 9.0):
        metrics.observe("/v1/auth", "GET", 200, seconds)
    metrics.observe("/v1/auth", "BREW", 418, 0.001)
    got = _samples(metrics)
    auth = (("method", "GET"), ("route", "/v1/auth"))
    assert got[("keyhive_verifications_total", (("code", "VALID"), ("endpoint", "auth")))] == 2
    assert got[("keyhive_verifications_total", (("code", "MISSING"), ("endpoint", "auth")))] == 1
    assert got[("keyhive_http_requests_total", (*auth, ("status", "200")))] == 4
    other = (("method", "OTHER"), ("route", "/v1/auth"), ("status", "418"))
    assert got[("keyhive_http_requests_total", other)] == 1, "unknown methods are folded"
    bucket = "keyhive_http_request_duration_seconds_bucket"
    assert got[(bucket, (("le", "0.0005"), *auth))] == 2, "a bound includes its own value"
    assert got[(bucket, (("le", "0.005"), *auth))] == 3
    assert got[(bucket, (("le", "2.5"), *auth))] == 3
    assert got[(bucket, (("le", "+Inf"), *auth))] == 4
    assert got[("keyhive_http_request_duration_seconds_count", auth)] == 4
    assert abs(got[("keyhive_http_request_duration_seconds_sum", auth)] - 9.0039) < 1e-9
