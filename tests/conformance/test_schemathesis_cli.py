"""The schemathesis CLI against a real ``keyhive serve``: all checks, all phases, 0 failures.

This is the independent conformance run: every answer must match the OpenAPI document
(status, headers, body), every request the document allows must be accepted and every
one it forbids refused, undeclared methods must answer 405 with a correct ``Allow``, and
nothing may answer 5xx. /v1/leaks is configured with a key no request is signed with, so
it answers 401 rather than 503. The seed is fixed, so a failure reproduces; set
KEYHIVE_SCHEMATHESIS_SEED to another number to explore further. A few minutes at most.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.server.serving import serving

pytestmark = pytest.mark.slow
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
SEED = os.environ.get("KEYHIVE_SCHEMATHESIS_SEED", "20261201")
PHASES = "examples,coverage,fuzzing,stateful"
#: Per operation and phase: enough to explore every operation, few enough for CI.
EXAMPLES = os.environ.get("KEYHIVE_SCHEMATHESIS_EXAMPLES", "50")
# Left out, for now: usage's ``since`` may reach 400d with bucket=day but only 31d with
# bucket=hour (a 422), a rule between two query parameters that a schema cannot state,
# and its pattern allows 0 and more than 100 years. tests/server/test_schemathesis.py
# still fuzzes these operations in-process.
EXCLUDED = r"/usage$"
# A refusal is a refusal: schemathesis's list leaves out 413 (a body over the limit) and
# 431 (headers over it), which keyhive answers before it reads what they hold.
REFUSALS = (
    "400",
    "401",
    "403",
    "404",
    "405",
    "406",
    "409",
    "413",
    "415",
    "422",
    "428",
    "429",
    "431",
)
# /v1/auth requires at most 64 distinct scopes, counted after each ``scope`` value is split
# at spaces and commas: a count across values that a schema cannot state, so there (and
# only there) a 400 for a request the document allows is not a failure.
AUTH_ACCEPTED = ("2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx")
CONFIG = f"""
[checks.negative_data_rejection]
expected-statuses = {json.dumps(list(REFUSALS))}

[[operations]]
include-path = "/v1/auth"
checks.positive_data_acceptance.expected-statuses = {json.dumps(list(AUTH_ACCEPTED))}
"""


def _leak_keys(path: Path) -> Path:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    path.write_text(json.dumps({"public_keys": [{"key_identifier": "k", "key": pem}]}))
    return path


@pytest.mark.timeout(600)
def test_schemathesis_finds_no_failure(tmp_path: Path) -> None:
    keys = _leak_keys(tmp_path / "github-keys.json")
    # Webhook targets anywhere (private addresses, plain http): whether a host may be
    # called is a deployment's choice, not something the document can state.
    env = {"KEYHIVE_LEAK_KEYS_FILE": str(keys), "KEYHIVE_WEBHOOK_ALLOW_PRIVATE": "1"}
    with serving(tmp_path, env=env) as served:
        config = tmp_path / "schemathesis.toml"
        config.write_text(CONFIG)
        command = [
            str(SCHEMATHESIS),
            "--config-file",
            str(config),
            "run",
            f"{served.base}/openapi.json",
            "--checks",
            "all",
            "--phases",
            PHASES,
            "--header",
            f"Authorization: Bearer {served.admin_token}",
            # One worker: with two threads, hypothesis's lambda descriptions call
            # ast.parse concurrently, which CPython 3.11 can fail with "AST constructor
            # recursion depth mismatch" (a Runtime Error in the report, seen in CI).
            "--workers",
            "1",
            "--seed",
            SEED,
            "--max-examples",
            EXAMPLES,
            "--generation-database",
            "none",
            "--exclude-path-regex",
            EXCLUDED,
            "--no-color",
        ]
        run = subprocess.run(
            command, capture_output=True, text=True, timeout=540, cwd=tmp_path, check=False
        )
    report = run.stdout + run.stderr
    assert run.returncode == 0, _shortened(report)
    [cases] = [line for line in report.splitlines() if " generated, " in line]
    assert "passed" in cases and "fail" not in cases, _shortened(report)


def _shortened(report: str) -> str:
    """The report from its failures on, each line cut short (a reproducing curl can hold
    a megabyte of generated data)."""
    found = [at for at in (report.find("ERRORS ==="), report.find("FAILURES ===")) if at >= 0]
    start = min(found, default=0)
    lines = report[start:].splitlines()
    return "\n".join(line[:800] for line in lines)[-20_000:]
