"""Server keys: derivation, the SQLite key file and its permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from keyhive import ConfigurationError, Settings
from keyhive.core.serverkeys import (
    ServerKeys,
    add_key,
    create_key_file,
    hkdf_sha256,
    key_file_for,
    read_key_file,
)


def test_hkdf_matches_rfc5869_case_3() -> None:
    # RFC 5869 test case 3: SHA-256, empty salt and info, IKM = 22 bytes of 0x0b.
    okm = hkdf_sha256(bytes([0x0B] * 22), b"", 42)
    assert okm.hex() == (
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    )


def test_purposes_and_keys_give_different_subkeys() -> None:
    keys = ServerKeys([("old", b"a" * 32), ("new", b"b" * 32)])
    assert keys.newest_id == "new"
    assert keys.ids == ("old", "new")
    assert keys.derive("digest") == keys.derive("digest", "new")
    assert keys.derive("digest") != keys.derive("session")
    assert keys.derive("digest", "old") != keys.derive("digest", "new")
    assert "old" in keys and "gone" not in keys
    with pytest.raises(KeyError):
        keys.derive("digest", "gone")
    assert "a" * 32 not in repr(keys) and "b" * 32 not in repr(keys)


def test_no_keys_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        ServerKeys([])
    with pytest.raises(ConfigurationError):
        ServerKeys([("k", b"x" * 32), ("k", b"y" * 32)])


def test_ephemeral_keys_are_random_and_not_durable() -> None:
    one, two = ServerKeys.ephemeral(), ServerKeys.ephemeral()
    assert not one.durable
    assert one.derive("digest") != two.derive("digest")


def test_key_file_only_for_sqlite_files(tmp_path: Path) -> None:
    assert key_file_for(f"sqlite:///{tmp_path}/k.db") == tmp_path / "k.db.key"
    assert key_file_for("sqlite:///:memory:") is None
    assert key_file_for("postgresql+psycopg://u@h/db") is None
    assert key_file_for("memory://") is None


def test_created_key_file_is_private_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "k.db.key"
    assert create_key_file(path)
    assert not create_key_file(path)  # never overwritten
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    [(ident, value)] = read_key_file(path)
    assert len(value) >= 32
    newer = add_key(path)
    assert [i for i, _ in read_key_file(path)] == [ident, newer]


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.db.key"
    create_key_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        read_key_file(path)


def test_settings_prefer_peppers_then_key_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/k.db"
    assert not Settings(database_url=url).server_keys().durable
    create_key_file(tmp_path / "k.db.key")
    from_file = Settings(database_url=url).server_keys()
    assert from_file.durable
    given = Settings(database_url=url, peppers=(("env", b"e" * 32),)).server_keys()
    assert given.ids == ("env",)
