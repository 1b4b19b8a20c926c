"""TTLCache: the one bounded cache (LRU, time to live, a byte bound), also under threads.

A live entry is read without the lock, so the racing test below is what keeps that
honest: readers, writers, removals and expiries at once must never raise, never answer
a value that was not put under that key, and leave the byte count equal to what the
remaining entries weigh.
"""

from __future__ import annotations

import random
import sys
import threading

from keyhive.counters.ttl import TTLCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_least_recently_used_goes_first_and_a_read_refreshes() -> None:
    cache: TTLCache[str, int] = TTLCache(2, 60)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert cache.keys() == ["a", "c"]
    assert (cache.hits, cache.misses) == (1, 0)
    assert cache.get("b") is None and cache.misses == 1


def test_an_expired_entry_is_a_miss_and_leaves_with_its_weight() -> None:
    clock, gone = Clock(), []
    cache: TTLCache[str, str] = TTLCache(
        10,
        5,
        max_bytes=100,
        weigh=lambda _k, v: len(v),
        on_evict=lambda k, v: gone.append((k, v)),
        monotonic=clock,
    )
    cache.put("a", "xxxx")
    cache.put("b", "yy", ttl=50)
    assert cache.weight == 6
    clock.now = 6
    assert cache.get("a") is None
    assert gone == [("a", "xxxx")] and cache.weight == 2
    assert cache.get("b") == "yy"


def test_the_byte_bound_evicts_the_oldest() -> None:
    gone: list[str] = []
    cache: TTLCache[str, str] = TTLCache(
        10, 60, max_bytes=10, weigh=lambda _k, v: len(v), on_evict=lambda k, _v: gone.append(k)
    )
    for key in "abc":
        cache.put(key, "x" * 4)
    assert gone == ["a"] and cache.weight == 8 and cache.keys() == ["b", "c"]
    assert cache.pop("b") == "x" * 4 and gone == ["a"]  # pop is no eviction


def test_racing_readers_writers_and_expiries_keep_the_cache_consistent() -> None:
    clock = Clock()
    cache: TTLCache[int, tuple[int, int]] = TTLCache(
        16, 1.0, max_bytes=200, weigh=lambda _k, v: 8 + v[1] % 5, monotonic=clock
    )
    errors: list[BaseException] = []
    wrong: list[tuple[int, tuple[int, int]]] = []
    stop = threading.Event()

    def work(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for n in range(20_000):
                key = rng.randrange(40)
                action = rng.random()
                if action < 0.6:
                    found = cache.get(key)
                    if found is not None and found[0] != key:
                        wrong.append((key, found))
                elif action < 0.9:
                    cache.put(key, (key, n), ttl=rng.choice((0.5, 1.0, 2.0)))
                elif action < 0.97:
                    cache.pop(key)
                else:
                    clock.now += 0.3  # entries expire while others read them
                if stop.is_set():
                    return
        except BaseException as exc:  # a race must not raise anything
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(6)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads every few bytecodes, not every 5 ms
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == [] and wrong == []
    held = cache.keys()
    remaining = [cache.pop(key) for key in held]
    assert cache.weight == 0, "the byte count drifted from what the entries weigh"
    assert len(remaining) <= 16
