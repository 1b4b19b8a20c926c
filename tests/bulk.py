"""Many real secrets at once, for tests that need a thousand: one transaction, no audit.

Issuing through the facade costs one durable commit per secret; what those tests check
is what happens to the secrets afterwards, so they are written here in one go.
"""

from __future__ import annotations

from keyhive import KeyHive
from keyhive.core.model import Secret, StoredSecret
from keyhive.core.tokens import make_token


def issue_many(hive: KeyHive, client_id: str, count: int) -> list[str]:
    """``count`` working tokens of ``client_id`` (scope-less, no expiry)."""
    tokens = [make_token(hive.prefix) for _ in range(count)]
    now = hive.clock.now()
    with hive.store.transaction() as tx:
        for token in tokens:
            secret = Secret(token.secret_id, client_id, None, (), token.prefix, now)
            tx.insert_secret(StoredSecret(secret, hive.hashing.hash(token.text)))
    return [token.text for token in tokens]
