"""Part (a) for the Python peers: each in its own venv, driven by a runner script.

A venv per peer keeps their dependencies (Django, FastAPI, old SQLAlchemy pins...) away
from keyhive's and from each other. Peer versions are pinned so that reruns compare
the same code; a venv is rebuilt when its requirement list changes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

HERE: Final = Path(__file__).resolve().parent
VENVS: Final = HERE / ".venvs"
RUNNERS: Final = HERE / "peers"
SIZES: Final = (1_000, 100_000)
INSTALL_TIMEOUT: Final = 900
RUN_TIMEOUT: Final = 240


@dataclass(frozen=True)
class Peer:
    """A peer library: its venv name, runner script and pip requirements."""

    name: str
    runner: str
    requirements: tuple[str, ...]


PEERS: Final = (
    Peer(
        "djangorestframework-api-key",
        "drf_api_key.py",
        ("djangorestframework-api-key==3.1.0", "django>=4.2", "djangorestframework>=3.14"),
    ),
    # uvicorn for part (g), which serves the gate's dependency: the version of keyhive's
    # own .venv, so that every FastAPI row there runs on the same server.
    Peer(
        "fastapi-keygate",
        "fastapi_keygate.py",
        ("fastapi-keygate==0.5.1", "uvicorn[standard]==0.54.0"),
    ),
    Peer("keyshield", "keyshield_peer.py", ("keyshield[argon2,aiocache]==2.0.1",)),
)


def _tail(text: str, lines: int = 6) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


def ensure_venv(peer: Peer) -> Path:
    """The peer venv's python, created with ``python3 -m venv`` and pip on first use."""
    venv = VENVS / peer.name
    python = venv / "bin" / "python"
    stamp = venv / ".bench-requirements"
    wanted = "\n".join(peer.requirements)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"  creating venv for {peer.name} (pip install {' '.join(peer.requirements)}) ...")
    base = shutil.which("python3") or sys.executable
    made = subprocess.run(
        [base, "-m", "venv", "--clear", str(venv)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if made.returncode:
        raise RuntimeError(f"python3 -m venv failed: {_tail(made.stderr)}")
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run(
        [*pip, *peer.requirements],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"pip install failed: {_tail(done.stderr)}")
    stamp.write_text(wanted)
    return python


def run_peer(peer: Peer, n: int, seconds: float) -> dict[str, Any]:
    """One runner invocation; its JSON, or an ``error`` saying why there is no number."""
    try:
        python = ensure_venv(peer)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return {"peer": peer.name, "n": n, "error": f"could not install: {exc}"}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [str(python), str(RUNNERS / peer.runner), "--n", str(n), "--seconds", str(seconds)],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
            cwd=RUNNERS,
        )
    except subprocess.TimeoutExpired:
        return {"peer": peer.name, "n": n, "error": f"runner exceeded {RUN_TIMEOUT} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return {"peer": peer.name, "n": n, "error": f"runner failed: {_tail(done.stderr)}"}
    result: dict[str, Any] = json.loads(lines[-1])
    result["wall_seconds"] = time.perf_counter() - started
    return result


def run(seconds: float = 3.0, *, quick: bool = False) -> list[dict[str, Any]]:
    """Every peer at every N, one after the other (never two loads at once); ``quick``
    smoke-tests them at N = 1,000 and 10,000 for half a second."""
    results = []
    sizes, seconds = ((1_000, 10_000), 0.5) if quick else (SIZES, seconds)
    for peer in PEERS:
        for n in sizes:
            print(f"  {peer.name}, N={n:,} ...", flush=True)
            results.append(run_peer(peer, n, seconds))
    return results
