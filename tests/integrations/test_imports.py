"""``import keyhive`` and the shared integration code need no web framework."""

from __future__ import annotations

import subprocess
import sys

BLOCK = """
import sys
FRAMEWORKS = {"fastapi", "starlette", "flask", "django", "rest_framework", "httpx"}
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FRAMEWORKS:
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
import keyhive, keyhive.integrations
from keyhive.integrations import LocalVerifier, Principal, Verdict, deny
print("ok")
"""


def test_integrations_package_imports_without_frameworks() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCK], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
