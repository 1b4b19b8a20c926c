"""No table, audit row or log line holds a plain secret."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from keyhive import KeyHive


def test_sqlite_file_holds_no_token_or_random_part(
    sqlite_hive: KeyHive, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hive = sqlite_hive
    client = hive.create_client("scan", metadata={"note": "x"})
    tokens = []
    for i in range(100):
        issued = hive.issue_secret(client.client_id, scopes=["a:b"], name=f"s{i}")
        tokens.append(issued.token)
        if i % 10 == 0:
            tokens.append(hive.rotate(issued.secret_id, grace="1h").token)
    for token in tokens[:20]:
        assert hive.verify(token).valid
    hive.revoke(hive.verify(tokens[0]).secret_id or "", reason="test")
    hive.close()
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("keyhive.db*"))
    assert len(blob) > 0
    hits = [t for t in tokens if t.encode() in blob or t[-49:-6].encode() in blob]
    assert hits == []
    logged = caplog.text
    assert not any(t in logged or t[-49:-6] in logged for t in tokens)


def test_reprs_hide_tokens(hive: KeyHive) -> None:
    issued = hive.issue_secret(hive.create_client("c").client_id)
    assert issued.token not in repr(issued)
    assert issued.token[-49:-6] not in repr(hive.verify(issued.token))
    for event in hive.audit():
        assert issued.token[-49:-6] not in str(event.to_dict())
