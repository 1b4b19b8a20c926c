"""Part (a) for keyhive itself: in-process verification, cache hits and cache misses.

Everything runs in this process on one thread. With the cache off a verification of a
secret that has its digest reads the store and hashes nothing; the slow path (a secret
without a digest) runs in rounds that alternate with the bare hash function on the same
stored string, so drift (thermal, neighbours) hits both sides of that ratio alike.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import Any, Final

from benchmarks._fixtures import seed_tokens
from benchmarks.peers._common import time_sync
from keyhive import KeyHive
from keyhive.core.model import Secret, StoredSecret
from keyhive.core.settings import Settings
from keyhive.core.tokens import make_token, parse_token
from keyhive.storage import MemoryStore

#: A benchmark-only pepper (the hmac hasher refuses to run without one).
PEPPERS: Final = (("bench1", b"benchmark-only-pepper-0123456789"),)
SCOPES: Final = ("articles:read",)
MISS_HASHERS: Final = ("scrypt", "argon2id", "hmac-sha256")
SLOW_HASHERS: Final = ("scrypt", "argon2id")


def cache_kwargs(enabled: bool) -> dict[str, Any]:
    """The cache arguments of KeyHive: the default cache, or none at all."""
    return {"cache_size": 100_000 if enabled else 0, "cache_ttl": 60.0}


def _fill(store: MemoryStore, count: int) -> float:
    """Store ``count`` filler secrets for one client in a single transaction.

    Real tokens hashed with the hmac hasher, written through the Store protocol in one
    transaction: the memory store snapshots its tables per transaction, so issuing
    100,000 secrets one by one through the facade would take minutes of setup.
    Returns the seconds spent.
    """
    started = time.perf_counter()
    filler = KeyHive(
        settings=Settings(hasher="hmac-sha256", peppers=PEPPERS),
        store=store,
        **cache_kwargs(False),
    )
    client = filler.create_client("benchmark fillers")
    now = filler.clock.now()
    with store.transaction() as tx:
        for _ in range(count):
            token = make_token(filler.prefix)
            secret = Secret(
                secret_id=token.secret_id,
                client_id=client.client_id,
                name=None,
                scopes=SCOPES,
                prefix=filler.prefix,
                created_at=now,
            )
            tx.insert_secret(StoredSecret(secret, filler.hashing.hash(token.text)))
    filler.close()
    return time.perf_counter() - started


def cache_hits(sizes: tuple[int, ...], seconds: float, notes: list[str]) -> list[dict[str, Any]]:
    """verify() of one valid token, again and again, among N secrets in a memory store.

    One hive per N, all alive at once and timed in alternating rounds, so that the
    flatness ratio compares figures taken side by side. The measured token is hashed
    with real default scrypt; the N-1 others with hmac, because issuing 100,000 scrypt
    secrets would take about an hour of setup and a hit never hashes.
    """
    hives: list[tuple[int, float, KeyHive, str]] = []
    try:
        for n in sizes:
            store = MemoryStore()
            setup = _fill(store, n - 1)
            hive = KeyHive(
                settings=Settings(hasher="scrypt", peppers=PEPPERS),
                store=store,
                **cache_kwargs(True),
            )
            hives.append((n, setup, hive, ""))
            client = hive.create_client("benchmark")
            token = hive.issue_secret(client.client_id, scopes=SCOPES).token
            hives[-1] = (n, setup, hive, token)
            warm = hive.verify(token)  # the one miss: real scrypt, then cached
            assert warm.valid, warm
        rates: dict[int, list[float]] = {n: [] for n in sizes}
        rounds = 6
        for _ in range(rounds):
            for n, _setup, hive, token in hives:
                call = functools.partial(hive.verify, token)
                rates[n] += time_sync(call, seconds / rounds, 1)["rounds"]
        for _n, _setup, hive, token in hives:
            assert hive.verify(token).valid
    finally:
        for _n, _setup, hive, _token in hives:
            hive.close()
    return [
        {
            "n": n,
            "setup_seconds": setup,
            "store": "memory://",
            "ops_per_sec": _median(rates[n]),
            "rounds": rates[n],
        }
        for n, setup, _hive, _token in hives
    ]


def _raw_verifier(stored: str, token: str) -> Callable[[], bool]:
    """The bare hash check for ``stored``: what any correct verifier must at least spend."""
    if stored.startswith("$scrypt$"):
        found = re.fullmatch(r"\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([^$]+)\$([^$]+)", stored)
        assert found is not None, "unexpected scrypt string"
        ln, r, p = (int(found.group(i)) for i in (1, 2, 3))
        salt = base64.b64decode(found.group(4) + "=" * (-len(found.group(4)) % 4))
        expected = base64.b64decode(found.group(5) + "=" * (-len(found.group(5)) % 4))
        n = 1 << ln
        maxmem = 128 * r * (n + p + 2) + (1 << 20)

        def scrypt() -> bool:
            got = hashlib.scrypt(
                token.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected), maxmem=maxmem
            )
            return hmac.compare_digest(got, expected)

        return scrypt
    if stored.startswith("$argon2id$"):
        from argon2 import PasswordHasher, profiles

        hasher = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
        return lambda: bool(hasher.verify(stored, token))
    if stored.startswith("$hmac-sha256$"):
        key = dict(PEPPERS)[stored.split("$")[2].removeprefix("k=")]
        digest = stored.rsplit("$", 1)[1]
        expected = base64.b64decode(digest + "=" * (-len(digest) % 4))

        def keyed() -> bool:
            got = hmac.new(key, token.encode(), hashlib.sha256).digest()
            return hmac.compare_digest(got, expected)

        return keyed
    raise ValueError("unknown hash string")


class NoDigestStore(MemoryStore):
    """A memory store that keeps no digest: ``set_digest`` declines, as it does when
    another writer changed the row first. Every verification of a secret stored without
    a digest is then its first: the slow path an imported secret takes once."""

    def set_digest(self, secret_id: str, old: str | None, new: str) -> bool:
        return False


def store_read(hasher: str, n: int, seconds: float) -> dict[str, Any]:
    """verify() with the cache disabled, of a secret issued with its digest: every call
    reads the store and checks the digest, and no slow hash runs."""
    store = MemoryStore()
    _fill(store, n - 1)
    hive = KeyHive(
        settings=Settings(hasher=hasher, peppers=PEPPERS),
        store=store,
        **cache_kwargs(False),
    )
    try:
        client = hive.create_client(f"benchmark {hasher}")
        issued = hive.issue_secret(client.client_id, scopes=SCOPES)
        token = issued.token
        stored = store.get_secret(issued.secret.secret_id)
        assert stored is not None
        assert stored.digest is not None
        assert hive.verify(token).valid
        rates = time_sync(lambda: hive.verify(token), seconds, 4)["rounds"]
        assert hive.verify(token).valid
    finally:
        hive.close()
    ops = _median(rates)
    return {
        "hasher": hasher,
        "hash_string": _parameters(stored.hash),
        "n": n,
        "keyhive_ops_per_sec": ops,
        "keyhive_us": 1e6 / ops,
        "keyhive_rounds": rates,
    }


def slow_path(hasher: str, n: int, seconds: float, rounds: int = 4) -> dict[str, Any]:
    """verify() of a secret WITHOUT a digest, cache disabled, versus the bare hash, in
    alternating rounds: where keyhive still pays a slow hash, it must add nothing to it."""
    store = NoDigestStore()
    _fill(store, n - 1)
    hive = KeyHive(
        settings=Settings(hasher=hasher, peppers=PEPPERS),
        store=store,
        **cache_kwargs(False),
    )
    try:
        client = hive.create_client(f"benchmark {hasher}")
        [token] = seed_tokens(hive, client.client_id, 1, digest=False)
        stored = store.get_secret(parse_token(token).secret_id)
        assert stored is not None
        assert stored.digest is None
        raw = _raw_verifier(stored.hash, token)
        assert raw()
        assert hive.verify(token).valid
        hive_rates: list[float] = []
        raw_rates: list[float] = []
        least = 3 if rounds > 2 else 1
        for _ in range(rounds):
            hive_rates += time_sync(
                lambda: hive.verify(token), seconds / rounds / 2, 1, min_calls=least
            )["rounds"]
            raw_rates += time_sync(raw, seconds / rounds / 2, 1, min_calls=least)["rounds"]
        after = store.get_secret(stored.secret.secret_id)
        assert after is not None
        assert after.digest is None, "the slow path gained a digest"
    finally:
        hive.close()
    hive_ops = _median(hive_rates)
    raw_ops = _median(raw_rates)
    return {
        "hasher": hasher,
        "hash_string": _parameters(stored.hash),
        "n": n,
        "keyhive_ops_per_sec": hive_ops,
        "raw_ops_per_sec": raw_ops,
        "keyhive_us": 1e6 / hive_ops,
        "raw_us": 1e6 / raw_ops,
        "miss_over_raw": raw_ops / hive_ops,
        "keyhive_rounds": hive_rates,
        "raw_rounds": raw_rates,
    }


def _parameters(stored: str) -> str:
    """The public part of a hash string (name and cost), without salt or digest."""
    parts = stored.split("$")
    keep = parts[1:-1] if stored.startswith("$hmac-sha256$") else parts[1:-2]
    return "$".join(keep)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def run(notes: list[str], *, quick: bool = False) -> dict[str, Any]:
    """All of keyhive's part (a): hits at N=1,000 and 100,000; per hasher a verification
    that reads the store but hashes nothing; per slow hasher the slow path."""
    hit_seconds, read_seconds, slow_seconds = (1.0, 0.4, 1.0) if quick else (10.0, 3.0, 6.0)
    sizes = (1_000, 10_000) if quick else (1_000, 100_000)
    print(f"  keyhive cache hits, N={sizes[0]:,} and {sizes[1]:,} in alternating rounds ...")
    hits = cache_hits(sizes, hit_seconds, notes)
    reads = []
    for hasher in MISS_HASHERS:
        print(f"  keyhive store read + digest (cache off), {hasher} ...", flush=True)
        reads.append(store_read(hasher, 1_000, read_seconds))
    slow = []
    for hasher in SLOW_HASHERS:
        print(f"  keyhive slow path (no digest) against the bare hash, {hasher} ...", flush=True)
        slow.append(slow_path(hasher, 1_000, slow_seconds, 2 if quick else 4))
    return {"cache_hit": hits, "store_read": reads, "slow_path": slow}
