"""docs/webhooks.md: the openssl recipe computes the signature a real delivery carries."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from keyhive import KeyHive
from keyhive.service.webhook_sender import WebhookSender

from .conftest import subscribe
from .receiver import Receiver

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def _recipe() -> str:
    text = DOC.read_text()
    block = text.split("With openssl", 1)[1].split("```console", 1)[1].split("```", 1)[0]
    lines = [line[2:] if line.startswith("$ ") else line for line in block.strip().splitlines()]
    return "\n".join(lines)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_the_openssl_recipe_matches_a_real_signature(
    whive: KeyHive,
    receiver: Receiver,
    senders: Callable[..., WebhookSender],
    tmp_path: Path,
) -> None:
    created = subscribe(whive, receiver, "client.disabled")
    whive.disable_client(whive.create_client("acme").client_id)
    senders(whive).step()
    (got,) = receiver.received
    (tmp_path / "body.json").write_bytes(got.body)
    env = {
        "PATH": "/usr/bin:/bin",
        "SECRET": created.secret,
        "ID": got.headers["webhook-id"],
        "TS": got.headers["webhook-timestamp"],
    }
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _recipe()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert re.fullmatch(r"v1,\S+", got.headers["webhook-signature"])
    assert "v1," + result.stdout.strip() == got.headers["webhook-signature"]
