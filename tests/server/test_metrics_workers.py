"""``keyhive serve --workers 2``: /metrics shows one set of figures, summed over the workers."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from keyhive.server.metrics import Metrics

from .serving import Served, serving

pytestmark = pytest.mark.slow
REQUESTS = 300


def _healthz_count(text: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "keyhive_http_requests_total" and s.labels["route"] == "/healthz"
    )


def _shared_dir(served: Served) -> Path:
    """The directory the workers share, read from a worker's environment."""
    pid = served.process.pid
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with open(f"/proc/{child}/environ", "rb") as env:
            for item in env.read().split(b"\0"):
                if item.startswith(b"KEYHIVE_METRICS_DIR="):
                    return Path(item.split(b"=", 1)[1].decode())
    raise AssertionError("no worker has KEYHIVE_METRICS_DIR")


def _per_worker(directory: Path) -> list[int]:
    counts = []
    for path in directory.glob("*.json"):
        data = json.loads(path.read_text())
        counts.append(sum(n for route, _, _, n in data["requests"] if route == "/healthz"))
    return counts


def test_requests_over_both_workers_add_up(tmp_path: Path) -> None:
    with serving(tmp_path, ["--workers", "2"]) as served:
        directory = _shared_dir(served)

        # A fresh connection each time, so the kernel hands them to either worker.
        fresh = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=served.base, limits=fresh, timeout=10) as http:

            def hit(_: int) -> int:
                return http.get("/healthz").status_code

            with ThreadPoolExecutor(8) as pool:
                assert set(pool.map(hit, range(REQUESTS))) == {200}
        deadline = time.monotonic() + 10
        while sum(_per_worker(directory)) < REQUESTS and time.monotonic() < deadline:
            time.sleep(0.2)  # each worker writes its tallies once a second
        shares = _per_worker(directory)
        assert len(shares) == 2 and all(shares), f"not spread over both workers: {shares}"
        assert sum(shares) == REQUESTS
        # Whichever worker answers the scrape, the figure is the sum.
        for _ in range(6):
            text = httpx.get(f"{served.base}/metrics", timeout=10).text
            assert _healthz_count(text) == REQUESTS
            assert "process_resident_memory_bytes" not in text  # per process: left out
    assert not directory.exists(), "keyhive serve removes the shared directory"


def test_one_process_keeps_its_process_metrics() -> None:
    text = Metrics().render().decode()
    assert "process_resident_memory_bytes" in text


def test_a_worker_that_exited_still_counts(tmp_path: Path) -> None:
    gone = Metrics(shared_dir=str(tmp_path))
    gone.observe("/healthz", "GET", 200, 0.001)
    gone.close()  # writes its final tallies
    (tmp_path / "1.json").write_text((tmp_path / gone.shared.path.name).read_text())  # type: ignore[union-attr]
    (tmp_path / "2.json").write_text("{not json")  # a torn or foreign file is skipped
    alive = Metrics(shared_dir=str(tmp_path))
    alive.observe("/healthz", "GET", 200, 0.001)
    # Its own live tallies plus the file of the one that exited (named after another pid).
    assert _healthz_count(alive.render().decode()) == 2
