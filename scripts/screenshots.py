"""Screenshots of every dashboard and portal page for docs/: ``make screenshots``.

Builds a throwaway SQLite database with a few clients, secrets and a week of usage,
serves it with ``keyhive serve`` on a free loopback port (the portal branded as an
"Articles API"), and has Debian's chromium (Playwright, never a downloaded browser)
photograph each page into docs/img/. The tokens visible in the "issued" pictures
belong to that throwaway database, deleted at the end. ``python scripts/screenshots.py
portal`` takes only the portal's pictures (``dashboard``: only the dashboard's).
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
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


#: The portal's branding in the pictures (docs/portal.md shows these settings).
BRANDING = {
    "KEYHIVE_PORTAL_NAME": "Articles API",
    "KEYHIVE_PORTAL_ACCENT": "#0b57d0",
    "KEYHIVE_PORTAL_LOGO": "/portal/static/favicon.svg",
}


def _week(rng: random.Random, now: datetime, scale: float) -> dict[tuple, int]:
    """A week of hourly verdicts with a daily rhythm, some refusals among them."""
    codes: dict[tuple, int] = {}
    for back in range(24 * 8):
        hour = now - timedelta(hours=back)
        daily = 0.4 + 0.6 * abs(12 - (hour.hour + 6) % 24) / 12
        codes[(hour, Code.VALID)] = int(rng.randint(80, 140) * daily * scale)
        if rng.random() < 0.3:
            codes[(hour, Code.INSUFFICIENT_SCOPE)] = rng.randint(1, 6)
        if rng.random() < 0.15:
            codes[(hour, Code.RATE_LIMITED)] = rng.randint(5, 30)
        if rng.random() < 0.05:
            codes[(hour, Code.EXPIRED)] = rng.randint(1, 3)
    return codes


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
        acme = hive.search_clients("Acme")[0][0]
        ci = hive.issue_secret(
            acme.client_id, scopes=["articles:read"], name="CI pipeline", expires_in="90d"
        )
        now = hour_of(hive.clock.now())
        used = {}
        for secret, scale in ((main, 1.0), (ci, 0.2)):
            codes = _week(rng, now, scale)
            total = sum(n for (_, code), n in codes.items() if code is Code.VALID)
            used[secret.secret_id] = Usage(total, hive.clock.now(), codes=codes)
        hive.store.record_usage(used)
        return admin.token, reporting.client_id, main.secret_id


def _serve(db_url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "KEYHIVE_HASHING_PROFILE": "cheapest", **BRANDING}
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
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"wrote {path.relative_to(ROOT)}")


def _dashboard(page: Page, token: str, client_id: str, secret_id: str) -> None:
    page.goto("/dashboard/login")
    _shoot(page, "dashboard-sign-in")
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Overview", exact=True).wait_for()
    _shoot(page, "dashboard-overview")
    page.goto("/dashboard/clients")
    _shoot(page, "dashboard-clients")
    page.goto("/dashboard/client?" + str(httpx.QueryParams({"id": client_id})))
    _shoot(page, "dashboard-client")
    page.locator("#issue-name").fill("new integration")
    page.get_by_label("Scopes").fill("articles:read")
    page.get_by_role("button", name="Issue secret").click()
    page.get_by_label("New token").wait_for()
    _shoot_top(page, "dashboard-issued")
    page.goto(f"/dashboard/secret?id={secret_id}&range=7d")
    _shoot(page, "dashboard-secret")
    page.goto("/dashboard/audit")
    _shoot(page, "dashboard-audit")


def _shoot_top(page: Page, name: str) -> None:
    """The top of the page only (where a new token is shown)."""
    page.set_viewport_size({"width": 1200, "height": 420})
    page.screenshot(path=str(OUT / f"{name}.png"))
    print(f"wrote docs/img/{name}.png")
    page.set_viewport_size({"width": 1200, "height": 800})


def _portal(page: Page, base: str, token: str) -> None:
    made = httpx.post(
        f"{base}/v1/portal/sessions",
        json={
            "owner": "acme",
            "allowed_scopes": ["articles:read", "articles:create", "users:read"],
            "max_secrets": 5,
            "return_url": "https://articles.example/account",
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    made.raise_for_status()
    link = made.json()["url"]
    page.goto(link)
    page.get_by_role("heading", name="Your API keys").wait_for()
    _shoot(page, "portal-keys")
    page.get_by_role("checkbox", name="articles:read").check()
    page.get_by_label("Name").fill("staging server")
    page.get_by_role("button", name="Create key").click()
    page.get_by_label("New token").wait_for()
    _shoot_top(page, "portal-created")
    page.goto(f"{base}/portal/")
    page.get_by_role("link", name="CI pipeline").click()
    page.get_by_role("heading", name="Key CI pipeline").wait_for()
    _shoot(page, "portal-key")
    page.goto(link)
    page.get_by_role("heading", name="This link has expired").wait_for()
    _shoot_top(page, "portal-expired")


def main() -> None:
    wanted = set(sys.argv[1:]) or {"dashboard", "portal"}
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
                if "dashboard" in wanted:
                    _dashboard(page, token, client_id, secret_id)
                if "portal" in wanted:
                    _portal(page, base, token)
                browser.close()
        finally:
            process.terminate()
            process.wait(15)


if __name__ == "__main__":
    main()
