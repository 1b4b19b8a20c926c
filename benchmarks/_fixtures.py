"""Secrets and guesses for the benchmarks, written straight through the Store.

Issuing through the facade runs the slow hash once per secret (about 30 ms with default
scrypt), so thousands of secrets would take minutes of setup. These helpers insert the
rows in one transaction instead, each with the digest of its own token made by the
hive's own digester, exactly what ``issue_secret`` stores.

``hash_string`` lets many rows share one real slow-hash string (of another token). Only
do that for rows whose digest decides every verification: the slow hash never runs for
them, and a token of such a row that verifies VALID proves it (the shared hash would not
match it).
"""

from __future__ import annotations

from typing import Final

from keyhive import KeyHive
from keyhive.core.model import Secret, StoredSecret
from keyhive.core.tokens import CHECKSUM_LENGTH, make_token, parse_token

SCOPES: Final = ("articles:read",)


def seed_tokens(
    hive: KeyHive,
    client_id: str,
    count: int,
    *,
    hash_string: str | None = None,
    digest: bool = True,
) -> list[str]:
    """Store ``count`` secrets of ``client_id``; returns their tokens.

    ``digest=False`` leaves the digest NULL, as for a secret stored before digests
    existed: its first verification runs the slow hash, so it must have its own real
    hash string (``hash_string`` None).
    """
    if not digest and hash_string is not None:
        raise ValueError("a secret without a digest needs its own hash string")
    digester = hive.pipeline.digester
    now = hive.clock.now()
    tokens = []
    with hive.store.transaction() as tx:
        for _ in range(count):
            token = make_token(hive.prefix)
            secret = Secret(
                secret_id=token.secret_id,
                client_id=client_id,
                name=None,
                scopes=SCOPES,
                prefix=hive.prefix,
                created_at=now,
            )
            stored = hash_string or hive.hashing.hash(token.text)
            check = digester.stored(digester(token.text)) if digest else None
            tx.insert_secret(StoredSecret(secret, stored, check))
            tokens.append(token.text)
    return tokens


def wrong_for(token: str) -> str:
    """A token with the same prefix and id, a new random part and a correct checksum."""
    parsed = parse_token(token)
    return make_token(parsed.prefix, parsed.secret_id).text


def unknown(prefix: str) -> str:
    """A well-formed token for an id that no secret has."""
    return make_token(prefix).text


def bad_checksum(token: str) -> str:
    """The token with its checksum changed: refused before any lookup."""
    body, check = token[:-CHECKSUM_LENGTH], token[-CHECKSUM_LENGTH:]
    flipped = "0" if check[-1] != "0" else "1"
    return body + check[:-1] + flipped
