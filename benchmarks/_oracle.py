"""Part (f): does the time of a refusal tell an attacker anything? In process (issue 9).

Two questions, each answered with medians of single timed calls taken in alternation
(the order swaps every call, so drift and warm caches favour neither side):

- an unknown id against a wrong secret for a known id, per hasher, once with the record
  not yet read (``hive.cache.clear()`` before every call, on a SQLite file so the read
  is real) and once with every record already read;
- a client_id + article secret pair with a wrong secret, for a client holding three
  imported secrets against one holding one: before any was used (no digests: a slow
  hash per secret) and after each was used once (digests).

Hives run on SQLite with a server key from ``KEYHIVE_PEPPERS``-style settings, so
digests are stored and trusted as in production.
"""

from __future__ import annotations

import functools
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from benchmarks._fixtures import seed_tokens, unknown, wrong_for
from benchmarks._inproc import PEPPERS
from keyhive import KeyHive
from keyhive.core.hashing import SeedScryptHasher
from keyhive.core.model import SeedImport
from keyhive.core.settings import Settings
from keyhive.core.tokens import generate_key, make_token

HASHERS: Final = ("scrypt", "hmac-sha256")
ORACLE_GOAL: Final = 1.10
PAIR_GOAL: Final = 1.2


def _timed(call: Callable[[], object]) -> float:
    start = time.perf_counter_ns()
    call()
    return (time.perf_counter_ns() - start) / 1e3


def _medians(a: list[float], b: list[float]) -> dict[str, Any]:
    ma, mb = statistics.median(a), statistics.median(b)
    return {"a_us": ma, "b_us": mb, "ratio": ma / mb, "calls": len(a)}


def _alternate(
    first: list[Callable[[], object]],
    second: list[Callable[[], object]],
    before: Callable[[], object] | None = None,
) -> tuple[list[float], list[float]]:
    """Time ``first[i]`` and ``second[i]`` by turns (``before`` runs untimed before each)."""
    a: list[float] = []
    b: list[float] = []
    for i, (one, two) in enumerate(zip(first, second, strict=True)):
        order = ((one, a), (two, b)) if i % 2 == 0 else ((two, b), (one, a))
        for call, times in order:
            if before is not None:
                before()
            times.append(_timed(call))
    return a, b


def unknown_vs_wrong(hive: KeyHive, ids: int, calls: int, *, cold: bool) -> dict[str, Any]:
    """Median µs of a wrong secret for a known id (a) against an unknown id (b).

    ``cold``: the cache is cleared before every call, so each reads the store; else
    every record was read by a pass before the timed one. Fresh ids for each mode, so
    that the failure throttle counts the same few failures per id in both.
    """
    decoy = hive.hashing.hash(make_token(hive.prefix).text)
    client = hive.create_client(f"oracle {'cold' if cold else 'known'}").client_id
    known = seed_tokens(hive, client, ids, hash_string=decoy)
    wrong = [wrong_for(known[i % ids]) for i in range(calls)]
    unknowns = [unknown(hive.prefix) for _ in range(calls)]
    cache = hive.cache
    assert cache is not None
    if not cold:
        for token in wrong + unknowns:
            assert not hive.verify(token).valid
    a, b = _alternate(
        [functools.partial(hive.verify, t) for t in wrong],
        [functools.partial(hive.verify, t) for t in unknowns],
        cache.clear if cold else None,
    )
    return _medians(a, b)


def _article_secrets(hive: KeyHive, client_id: str, count: int) -> list[str]:
    """Import ``count`` secrets hashed by the article's code; returns them."""
    seed = SeedScryptHasher()
    plain = [generate_key(32, "base64") for _ in range(count)]
    records = [SeedImport(client_id, seed.hash(p), None, ("articles:read",)) for p in plain]
    hive.import_secrets(records, create_clients=False)
    return plain


def pairs(hive: KeyHive, slow_calls: int, calls: int) -> dict[str, Any]:
    """Wrong-secret pairs for a client holding 3 imported secrets (a) against one holding
    1 (b): before any was used, then after each was used once (records known or not)."""
    three = hive.create_client("three imported").client_id
    one = hive.create_client("one imported").client_id
    three_plain = _article_secrets(hive, three, 3)
    one_plain = _article_secrets(hive, one, 1)

    def guesses(client_id: str, n: int) -> list[Callable[[], object]]:
        wrong = [generate_key(32, "base64") for _ in range(n)]
        return [functools.partial(hive.verify_pair, client_id, w) for w in wrong]

    out: dict[str, Any] = {
        "before_use": _medians(*_alternate(guesses(three, slow_calls), guesses(one, slow_calls)))
    }
    for client_id, plain in ((three, three_plain), (one, one_plain)):
        for secret in plain:
            assert hive.verify_pair(client_id, secret).valid
    out["after_use_known"] = _medians(*_alternate(guesses(three, calls), guesses(one, calls)))
    cache = hive.cache
    assert cache is not None
    out["after_use_unread"] = _medians(
        *_alternate(guesses(three, calls), guesses(one, calls), cache.clear)
    )
    return out


def run(notes: list[str], *, quick: bool = False) -> dict[str, Any]:
    """Part (f) for each hasher, and the pairs once (their hash is the article's scrypt)."""
    ids, calls, slow_calls = (40, 200, 3) if quick else (400, 2_000, 30)
    out: dict[str, Any] = {"calls": calls, "ids": ids, "hashers": {}}
    with tempfile.TemporaryDirectory(prefix="keyhive-oracle-") as name:
        for hasher in HASHERS:
            url = f"sqlite:///{Path(name) / f'oracle-{hasher}.db'}"
            with KeyHive(url, settings=Settings(hasher=hasher, peppers=PEPPERS)) as hive:
                print(f"  unknown id against a wrong secret, {hasher} ...", flush=True)
                out["hashers"][hasher] = {
                    "unread": unknown_vs_wrong(hive, ids, calls, cold=True),
                    "known": unknown_vs_wrong(hive, ids, calls, cold=False),
                }
                if hasher == "scrypt":
                    print("  client_id + secret pairs, 3 imported secrets against 1 ...")
                    out["pairs"] = pairs(hive, slow_calls, calls)
    out["oracle_goal"] = ORACLE_GOAL
    out["pair_goal"] = PAIR_GOAL
    return out
