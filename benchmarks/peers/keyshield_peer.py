"""keyshield: ``await service.verify_key(key)`` among N keys, with its random delay off.

keyshield sleeps a random 0.1-0.3 s after every verification (``min_delay`` and
``max_delay`` of the service) to blur timing; both are set to 0 here, which leaves an
``asyncio.sleep(0)``. The store is the bundled ``InMemoryApiKeyRepository``, whose
``get_by_key_id`` scans every key, so the measured key sits in the middle of the N.
Two services are measured: ``ApiKeyService`` (argon2 on every call, the default
hasher with argon2-cffi's default parameters) and ``CachedApiKeyService`` (aiocache
in memory, keyed by SHA-256 of the key, the library's own cache). Filler keys carry
argon2 strings made with the cheapest parameters and are put straight into the
repository's dict, because ``repo.create`` scans all keys too (quadratic setup).
The file is named ``keyshield_peer`` so that it does not shadow the package.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from typing import Any

from _common import emit, parse_args, time_async
from argon2 import PasswordHasher
from keyshield import ApiKeyService
from keyshield.domain.entities import ApiKey
from keyshield.hasher.argon2 import Argon2ApiKeyHasher
from keyshield.repositories.in_memory import InMemoryApiKeyRepository
from keyshield.services.cached import CachedApiKeyService
from keyshield.utils import key_secret_factory

PEPPER = "benchmark-pepper-not-a-secret-0123456789"


def _fill(repo: InMemoryApiKeyRepository, count: int) -> None:
    cheap = Argon2ApiKeyHasher(
        pepper=PEPPER, password_hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    for i in range(count):
        entity = ApiKey(name=f"filler-{i}", key_hash=cheap.hash(key_secret_factory()))
        repo._store[entity.id_] = entity


async def _measure(cached: bool, n: int, seconds: float) -> dict[str, Any]:
    repo = InMemoryApiKeyRepository()
    hasher = Argon2ApiKeyHasher(pepper=PEPPER)
    kind = CachedApiKeyService if cached else ApiKeyService
    service = kind(repo=repo, hasher=hasher, min_delay=0.0, max_delay=0.0)
    started = time.perf_counter()
    _fill(repo, (n - 1) // 2)
    _, key = await service.create(name="benchmark")
    _fill(repo, n - 1 - (n - 1) // 2)
    setup = time.perf_counter() - started
    assert len(repo._store) == n
    await service.verify_key(key)
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    try:
        await service.verify_key(wrong)
    except Exception:  # keyshield raises InvalidKey on a mismatch
        pass
    else:
        raise AssertionError("a wrong key was accepted")
    timing = await time_async(lambda: service.verify_key(key), seconds)
    return {"service": kind.__name__, "setup_seconds": setup, **timing}


def main() -> None:
    args = parse_args(__doc__ or "")
    warnings.simplefilter("ignore")
    plain = asyncio.run(_measure(False, args.n, args.seconds))
    cached = asyncio.run(_measure(True, args.n, args.seconds))
    ph = PasswordHasher()
    emit(
        "keyshield",
        "keyshield",
        n=args.n,
        setup_seconds=plain["setup_seconds"],
        call="await service.verify_key(key) with min_delay=max_delay=0",
        store="InMemoryApiKeyRepository (linear scan per lookup; key in the middle)",
        hasher=(
            f"Argon2ApiKeyHasher (default; argon2-cffi PasswordHasher() "
            f"t={ph.time_cost}, m={ph.memory_cost} KiB, p={ph.parallelism})"
        ),
        ops_per_sec=plain["ops_per_sec"],
        rounds=plain["rounds"],
        variants=[plain, cached],
    )


if __name__ == "__main__":
    main()
