"""Server keys: secrets kept outside the database, so that a copy of the database alone
gives an attacker nothing faster than the slow hashes it holds.

They key the verification digests, sign dashboard sessions and encrypt OAuth signing
keys. They are listed oldest to newest (``KEYHIVE_PEPPERS``, or the key file that
``keyhive init`` writes beside a SQLite database); new material uses the newest, old
material names the key it was made with. Every use derives its own subkey (HKDF-SHA256,
RFC 5869) from a purpose string, so no key serves two purposes directly.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from keyhive.core.errors import ConfigurationError
from keyhive.core.hashing import parse_peppers

_SQLITE_FILE: Final = re.compile(r"sqlite(?:\+\w+)?:///([^?]+)")
_KEY_SUFFIX: Final = ".key"


def hkdf_sha256(key: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF (RFC 5869) with SHA-256 and an empty salt: a subkey of ``key`` for ``info``."""
    prk = hmac.digest(b"\0" * 32, key, "sha256")
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.digest(prk, block + info + bytes([counter]), "sha256")
        out += block
        counter += 1
    return out[:length]


class ServerKeys:
    """Server keys oldest to newest; :meth:`derive` gives the subkey for one purpose.

    ``durable`` is False for a key made up for this process only (a memory store, or no
    key configured): material made with it does not outlive the process.
    """

    __slots__ = ("_derived", "_keys", "durable")

    def __init__(self, keys: Sequence[tuple[str, bytes]], *, durable: bool = True) -> None:
        if not keys:
            raise ConfigurationError("at least one server key is needed")
        self._keys: dict[str, bytes] = {}
        for ident, value in keys:
            if ident in self._keys:
                raise ConfigurationError(f"server key {ident!r} is listed twice")
            self._keys[ident] = value
        self.durable = durable
        self._derived: dict[tuple[str, str], bytes] = {}

    @classmethod
    def ephemeral(cls) -> ServerKeys:
        """A random key for this process only."""
        return cls([(f"ephemeral-{secrets.token_hex(4)}", secrets.token_bytes(32))], durable=False)

    @property
    def newest_id(self) -> str:
        """The id of the key new material is made with."""
        return next(reversed(self._keys))

    @property
    def ids(self) -> tuple[str, ...]:
        """Key ids, oldest first."""
        return tuple(self._keys)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def derive(self, purpose: str, key_id: str | None = None) -> bytes:
        """The 32-byte subkey of key ``key_id`` (default: the newest) for ``purpose``.

        Raises KeyError for a key id that is not configured.
        """
        ident = self.newest_id if key_id is None else key_id
        found = self._derived.get((ident, purpose))
        if found is None:
            found = hkdf_sha256(self._keys[ident], b"keyhive/" + purpose.encode())
            self._derived[(ident, purpose)] = found
        return found

    def __repr__(self) -> str:
        return f"ServerKeys(ids={list(self._keys)!r}, durable={self.durable})"


def key_file_for(database_url: str) -> Path | None:
    """Where the key file of a SQLite database lives (``<database>.key``); None otherwise."""
    match = _SQLITE_FILE.fullmatch(database_url)
    if match is None:
        return None
    path = match.group(1)
    if path == ":memory:" or path.startswith("file:"):
        return None
    return Path(path + _KEY_SUFFIX)


def read_key_file(path: Path) -> list[tuple[str, bytes]]:
    """The keys in a key file (``id=value`` per line, oldest first); [] if there is none.

    A file that others may read is refused: the key is worth as much as the database.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return []
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"key file {path} may be read by other users; run: chmod 600 {path}"
        )
    text = path.read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines()]
    try:
        return parse_peppers(",".join(line for line in lines if line and not line.startswith("#")))
    except ConfigurationError:
        raise ConfigurationError(f"key file {path} is not id=value lines") from None


def create_key_file(path: Path) -> bool:
    """Write a new random key to ``path`` (mode 0600) unless the file exists; True if made."""
    ident = "k" + datetime.now(UTC).strftime("%Y%m%d")
    line = "# keyhive server key: keep it secret, back it up apart from the database\n"
    line += f"{ident}={secrets.token_urlsafe(32)}\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)  # whatever the umask did
    return True


def add_key(path: Path) -> str:
    """Append a new newest key to an existing key file (rotation); returns its id."""
    existing = {ident for ident, _ in read_key_file(path)}
    base = "k" + datetime.now(UTC).strftime("%Y%m%d")
    ident, n = base, 1
    while ident in existing:
        n += 1
        ident = f"{base}.{n}"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{ident}={secrets.token_urlsafe(32)}\n")
        handle.flush()
        os.fsync(handle.fileno())
    return ident


def digest_key_material(keys: ServerKeys) -> str:
    """A short fingerprint of the newest key (for logs and `keyhive init`): never the key."""
    return hashlib.sha256(keys.derive("fingerprint")).hexdigest()[:12]
