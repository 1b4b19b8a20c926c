"""Templates and assets ship inside the package: a built wheel serves the dashboard.

The wheel is built from a copy of the sources and installed with ``--no-deps`` into a
fresh virtualenv; the ``server`` extra's packages come from this test run's own
environment, through a ``.pth`` line naming its site-packages. That keeps the test
offline and quick, and still proves the point: ``keyhive`` itself (code, templates,
static files, migrations) is imported from the wheel, never from this checkout, whose
editable-install hook lives in a ``.pth`` file that the new venv does not process.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.web.browser import serve_keyhive

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _build_wheel(tmp: Path) -> Path:
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    dist = tmp / "dist"
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"),
            *("--no-build-isolation", "--wheel-dir", str(dist), str(source)),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = dist.glob("keyhive-*.whl")
    return wheel


def _venv_with(wheel: Path, tmp: Path) -> Path:
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "--python", str(python)),
            *("install", "--quiet", "--no-deps", f"{wheel}[server]"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "keyhive_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    return venv


def test_the_installed_wheel_serves_the_dashboard(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in (
        "keyhive/server/web/templates/base.html",
        "keyhive/server/web/templates/secret.html",
        "keyhive/server/web/static/dashboard.css",
        "keyhive/server/web/static/dashboard.js",
        "keyhive/storage/migrations/versions/0006_usage.py",
        "keyhive/server/web/templates/portal/home.html",
        "keyhive/server/web/static/portal.css",
        "keyhive/storage/migrations/versions/0009_portal.py",
    ):
        assert shipped in names, shipped
    venv = _venv_with(wheel, tmp_path)
    python = venv / "bin" / "python"
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import keyhive, importlib.metadata as m; print(keyhive.__file__); "
            "print('\\n'.join(m.requires('keyhive') or []))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert probe.splitlines()[0].startswith(str(venv)), probe
    assert re.search(r'^jinja2>=3\.1; extra == "server"$', probe, re.M), probe

    served = serve_keyhive(tmp_path, executable=venv / "bin" / "keyhive")
    try:
        with httpx.Client(base_url=served.base, timeout=10, follow_redirects=True) as http:
            page = http.get("/dashboard")
            assert page.status_code == 200
            assert 'for="token">Admin token</label>' in page.text
            assert http.get("/dashboard/static/dashboard.css").status_code == 200
            assert http.get("/dashboard/static/dashboard.js").status_code == 200
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert csrf is not None
            signed = http.post(
                "/dashboard/login", data={"token": served.admin_token, "csrf_token": csrf[1]}
            )
            assert signed.status_code == 200 and "<h1>Overview</h1>" in signed.text
            link = http.post(
                "/v1/portal/sessions",
                json={"owner": "ada", "allowed_scopes": ["a:read"]},
                headers={"Authorization": f"Bearer {served.admin_token}"},
            )
            assert link.status_code == 201, link.text
            portal = http.get(link.json()["url"])
            assert portal.status_code == 200 and "<h1>Your API keys</h1>" in portal.text
            assert http.get("/portal/static/portal.css").status_code == 200
    finally:
        served.stop()
