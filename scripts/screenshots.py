"""Screenshots of every dashboard page for docs/dashboard.md: ``make screenshots``.

Builds a throwaway SQLite database with a few clients, secrets and a week of usage,
serves it with ``keyhive serve`` on a free loopback port, and has Debian's chromium
(Playwright, never a downloaded browser) photograph each page into docs/img/. The token
visible in the "issued" picture belongs to that throwaway database, deleted at the end.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from keyhive import Code, KeyHive, Settings
from keyhive.core.usage import hour_of
from keyhive.storage import Usage

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"
KEYHIVE = Path(sys.executable).with_name("keyhive")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed(db_url: str) -> tuple[str, str, str]:
    """Clients, secrets and a week of hourly usage; (admin token, a client id, a secret id)."""
    rng = random.Random(7)
    with KeyHive(db_url, settings=Settings(hashing_profile="cheapest")) as hive:
        admin = hive.bootstrap_admin()
        assert admin is not None
        actor = admin.secret_id
        reporting = hive.create_client(
            "Reporting service", owner="team-data", metadata={"plan": "pro"}, actor=actor
        )
        main = hive.issue_secret(
            reporting.client_id,
            scopes=["articles:read", "users:read"],
            name="production",
            expires_in="90d",
            rate="600/minute",
            actor=actor,
        )
        hive.issue_secret(
            reporting.client_id,
            scopes=["articles:read"],
            name="staging",
            expires_in="5d",
            actor=actor,
        )
        nightly = hive.issue_secret(
            reporting.client_id, scopes=["articles:*"], name="nightly import", actor=actor
        )
        hive.rotate(nightly.secret_id, grace="24h", actor=actor)
        for name, owner in [
            ("Mobile app", "team-mobile"),
            ("Partner: Acme Corp", "acme"),
            ("Billing worker", "team-billing"),
            ("Legacy CMS", None),
        ]:
            made = hive.create_client(name, owner=owner, actor=actor)
            hive.issue_secret(made.client_id, scopes=["articles:read"], name="default", actor=actor)
        legacy = hive.search_clients("Legacy")[0][0]
        hive.disable_client(legacy.client_id, actor=actor)
        now = hour_of(hive.clock.now())
        codes: dict[tuple, int] = {}
        for back in range(24 * 8):
            hour = now - timedelta(hours=back)
            daily = 0.4 + 0.6 * abs(12 - (hour.hour + 6) % 24) / 12
            codes[(hour, Code.VALID)] = int(rng.randint(80, 140) * daily)
            if rng.random() < 0.3:
                codes[(hour, Code.INSUFFICIENT_SCOPE)] = rng.randint(1, 6)
            if rng.random() < 0.15:
                codes[(hour, Code.RATE_LIMITED)] = rng.randint(5, 30)
            if rng.random() < 0.05:
                codes[(hour, Code.EXPIRED)] = rng.randint(1, 3)
        total = sum(n for (_, code), n in codes.items() if code is Code.VALID)
        hive.store.record_usage({main.secret_id: Usage(total, hive.clock.now(), codes=codes)})
        return admin.token, reporting.client_id, main.secret_id


def _serve(db_url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "KEYHIVE_HASHING_PROFILE": "cheapest"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(KEYHIVE), "--db", db_url, "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"keyhive serve did not start:\n{log.read_text()}")


def _shoot(page: Page, name: str) -> None:
    path = OUT / f"dashboard-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="keyhive-shots-") as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        token, client_id, secret_id = _seed(db_url)
        process, base = _serve(db_url, Path(tmp) / "serve.log")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=os.environ.get("KEYHIVE_CHROMIUM", "/usr/bin/chromium"),
                    args=CHROMIUM_ARGS,
                )
                page = browser.new_page(base_url=base, viewport={"width": 1200, "height": 800})
                page.goto("/dashboard/login")
                _shoot(page, "sign-in")
                page.get_by_label("Admin token").fill(token)
                page.get_by_role("button", name="Sign in").click()
                page.get_by_role("heading", name="Overview", exact=True).wait_for()
                _shoot(page, "overview")
                page.goto("/dashboard/clients")
                _shoot(page, "clients")
                page.goto("/dashboard/client?" + str(httpx.QueryParams({"id": client_id})))
                _shoot(page, "client")
                page.locator("#issue-name").fill("new integration")
                page.get_by_label("Scopes").fill("articles:read")
                page.get_by_role("button", name="Issue secret").click()
                page.get_by_label("New token").wait_for()
                page.set_viewport_size({"width": 1200, "height": 420})
                page.screenshot(path=str(OUT / "dashboard-issued.png"))
                print("wrote docs/img/dashboard-issued.png")
                page.set_viewport_size({"width": 1200, "height": 800})
                page.goto(f"/dashboard/secret?id={secret_id}&range=7d")
                _shoot(page, "secret")
                page.goto("/dashboard/audit")
                _shoot(page, "audit")
                browser.close()
        finally:
            process.terminate()
            process.wait(15)


if __name__ == "__main__":
    main()
