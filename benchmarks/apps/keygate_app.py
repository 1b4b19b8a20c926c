"""fastapi-keygate: the same route behind the gate's own dependency, ``KeyGate.require``.

Runs in the peer's venv (benchmarks/.venvs/fastapi-keygate), so it imports nothing of
keyhive. The gate is built without an app, so its per-request usage middleware (a
database write per request) is not installed: only the dependency is measured.
``python -m benchmarks.apps.keygate_app DB`` creates the key and prints it.
"""

# No ``from __future__ import annotations``: FastAPI reads the dependency from the
# annotation, which names a closure of the factory.
import json
import os
import sys
from typing import Annotated

from fastapi import Depends, FastAPI
from keygate import ApiKey, KeyGate

ANSWER = {"ok": True}


def _gate(path: str) -> KeyGate:
    return KeyGate(db_url=f"sqlite:///{path}", default_per_minute=None)


def app() -> FastAPI:
    """The route behind ``Depends(gate.require)``; the database is ``$BENCH_KEYGATE_DB``."""
    gate = _gate(os.environ["BENCH_KEYGATE_DB"])
    api = FastAPI()

    @api.get("/hello")
    async def hello(_: Annotated[ApiKey, Depends(gate.require)]) -> dict[str, bool]:
        return ANSWER

    return api


def main() -> None:
    """Create the benchmark's key with the gate's own ``create_key``; print it as JSON."""
    created = _gate(sys.argv[1]).create_key("benchmark-owner", name="benchmark")
    sys.stdout.write(json.dumps({"key": created.key}) + "\n")


if __name__ == "__main__":
    main()
