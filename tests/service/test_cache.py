"""The verification cache: fast answers that are never stale after a change."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from keyhive import Code, FrozenClock, KeyHive, Settings
from keyhive.core.credentials import PairCredential, TokenCredential
from keyhive.counters.cache import VerificationCache
from tests.service.test_verify import forged


def test_second_check_is_a_cache_hit_and_skips_storage(hive: KeyHive) -> None:
    issued = hive.issue_secret(hive.create_client("c").client_id)
    assert hive.cache is not None
    assert hive.verify(issued.token).valid
    hits = hive.cache.hits
    hive.store.get_secret = None  # type: ignore[method-assign, assignment]
    assert hive.verify(issued.token).valid
    assert hive.cache.hits == hits + 1


@pytest.mark.parametrize("change", ["revoke", "rotate", "disable", "scopes", "expiry"])
def test_change_rejects_on_the_very_next_call(
    hive: KeyHive, clock: FrozenClock, change: str
) -> None:
    client = hive.create_client("c")
    issued = hive.issue_secret(client.client_id, scopes=["a:b"])
    assert hive.verify(issued.token, ["a:b"]).valid  # now cached
    expected = {
        "revoke": Code.REVOKED,
        "rotate": Code.REVOKED,
        "disable": Code.DISABLED,
        "scopes": Code.INSUFFICIENT_SCOPE,
        "expiry": Code.EXPIRED,
    }[change]
    if change == "revoke":
        hive.revoke(issued.secret_id)
    elif change == "rotate":
        hive.rotate(issued.secret_id)
    elif change == "disable":
        hive.disable_client(client.client_id)
    elif change == "scopes":
        hive.update(issued.secret_id, scopes=["x:y"])
    else:
        hive.update(issued.secret_id, expires_in="1s")
        clock.advance(1)
    assert hive.verify(issued.token, ["a:b"]).code is expected


def test_expired_entry_is_rejected_even_when_cached(hive: KeyHive, clock: FrozenClock) -> None:
    issued = hive.issue_secret(hive.create_client("c").client_id, expires_in="10s")
    assert hive.verify(issued.token).valid
    assert hive.cache is not None and len(hive.cache) == 1
    clock.advance(10)
    assert hive.verify(issued.token).code is Code.EXPIRED


def test_cache_holds_no_plain_secret(hive: KeyHive) -> None:
    issued = hive.issue_secret(hive.create_client("c").client_id)
    hive.verify(issued.token)
    assert hive.cache is not None
    for key in hive.cache.keys_snapshot():
        assert issued.token.encode() not in key
        assert issued.token[-49:].encode() not in key
        assert len(key) == 32


def test_cached_wrong_client_in_pair_is_not_found(hive: KeyHive) -> None:
    issued = hive.issue_secret(hive.create_client("c").client_id)
    hive.verify(issued.token)
    found = hive.verify_cached(PairCredential("someone-else", issued.token))
    assert found is not None and found.code is Code.NOT_FOUND
    mine = hive.verify_cached(PairCredential(issued.client_id, issued.token))
    assert mine is not None and mine.valid
    unseen = hive.issue_secret(issued.client_id)
    assert hive.verify_cached(TokenCredential(unseen.token)) is None, "a miss needs the slow path"
    malformed = hive.verify_cached(TokenCredential("never-seen"))
    assert malformed is not None and malformed.code is Code.NOT_FOUND


def test_throttled_ids_are_refused_without_the_slow_path(hive: KeyHive) -> None:
    issued = hive.issue_secret(hive.create_client("c").client_id)
    wrong = forged(issued.token)
    while hive.verify(wrong).retry_after is None:
        pass
    early = hive.verify_cached(TokenCredential(wrong))
    assert early is not None and early.code is Code.NOT_FOUND and early.retry_after
    pair = hive.verify_cached(PairCredential("nobody", "wrong"))
    assert pair is None, "an unthrottled pair still needs the slow path"


def test_lru_bound_and_ttl() -> None:
    now = [0.0]
    cache = VerificationCache(size=2, ttl=5, monotonic=lambda: now[0])
    hive = KeyHive("memory://", settings=Settings(hashing_profile="cheapest"), cache_size=0)
    client = hive.create_client("c")
    secrets = [hive.issue_secret(client.client_id).secret for _ in range(3)]
    for i, secret in enumerate(secrets):
        cache.put(cache.digest(str(i)), secret, client)
    assert len(cache) == 2 and cache.get(cache.digest("0")) is None
    assert cache.get(cache.digest("2")) is not None
    now[0] = 5.0
    assert cache.get(cache.digest("2")) is None, "entries die after their TTL"
    cache.put(cache.digest("x"), secrets[0], client)
    cache.evict_client(client.client_id)
    assert len(cache) == 0
    hive.close()


def test_disabled_cache_still_verifies() -> None:
    hive = KeyHive("memory://", settings=Settings(hashing_profile="cheapest"), cache_size=0)
    issued = hive.issue_secret(hive.create_client("c").client_id)
    assert hive.cache is None
    assert hive.verify(issued.token).valid and hive.verify(issued.token).valid
    assert hive.verify_cached(TokenCredential(issued.token)) is None
    hive.close()


def test_change_by_another_process_reaches_a_running_hive_within_a_second(tmp_path: Path) -> None:
    """Two facades on one SQLite file stand for `keyhive serve` and the CLI."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    settings = Settings(hashing_profile="cheapest")
    server = KeyHive(url, settings=settings, change_interval=0.1)
    cli = KeyHive(url, settings=settings, watch_changes=False)
    issued = cli.issue_secret(cli.create_client("c").client_id)
    assert server.verify(issued.token).valid  # cached in the server now
    cli.revoke(issued.secret_id)
    deadline = time.monotonic() + 1.0
    while server.verify(issued.token).valid and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.verify(issued.token).code is Code.REVOKED
    cli.close()
    server.close()


def test_entry_past_its_ttl_is_reread_not_rehashed(clock: FrozenClock) -> None:
    from tests.service.test_verify import CountingHashing

    counting = CountingHashing(Settings(hashing_profile="cheapest").make_hashing().current)
    hive = KeyHive("memory://", hashing=counting, clock=clock, cache_ttl=5, watch_changes=False)
    assert hive.cache is not None
    now = [0.0]
    hive.cache._monotonic = lambda: now[0]
    issued = hive.issue_secret(hive.create_client("c").client_id, scopes=["a:b"])
    CountingHashing.calls = 0
    assert hive.verify(issued.token, ["a:b"]).valid
    assert CountingHashing.calls == 0, "its digest recognises the token: no slow hash"
    now[0] = 10.0  # past the TTL
    assert hive.verify_cached(TokenCredential(issued.token)) is None, "needs a store read"
    assert hive.verify(issued.token, ["a:b"]).valid
    assert CountingHashing.calls == 0, "a known credential is re-read, not re-hashed"
    # A change that no invalidation reported is picked up by the re-read.
    with hive.store.transaction() as tx:
        secret = hive.get_secret(issued.secret_id)
        tx.update_secret(dataclasses.replace(secret, revoked_at=clock.now()))
    now[0] = 20.0
    assert hive.verify(issued.token).code is Code.REVOKED
    hive.close()


def test_flooding_a_public_id_does_not_lock_out_its_holder(hive: KeyHive) -> None:
    assert hive.cache is not None
    now = [0.0]
    hive.cache._monotonic = lambda: now[0]
    issued = hive.issue_secret(hive.create_client("c").client_id)
    assert hive.verify(issued.token).valid
    wrong = forged(issued.token)
    while hive.verify(wrong).retry_after is None:
        pass
    now[0] = 3600.0  # the holder's entry is long past its TTL while the id is throttled
    assert hive.verify(issued.token).valid
    assert hive.verify(wrong).retry_after is not None, "the attacker stays throttled"


def test_a_change_elsewhere_costs_a_read_not_a_hash(tmp_path: Path) -> None:
    from tests.service.test_verify import CountingHashing

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    counting = CountingHashing(Settings(hashing_profile="cheapest").make_hashing().current)
    server = KeyHive(url, hashing=counting, change_interval=0.05)
    cli = KeyHive(url, settings=Settings(hashing_profile="cheapest"), watch_changes=False)
    issued = cli.issue_secret(cli.create_client("c").client_id, scopes=["a:b"])
    CountingHashing.calls = 0
    assert server.verify(issued.token, ["a:b"]).valid
    cli.update(issued.secret_id, scopes=["x:y"])
    deadline = time.monotonic() + 2
    while server.verify(issued.token, ["a:b"]).valid and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.verify(issued.token, ["a:b"]).code is Code.INSUFFICIENT_SCOPE
    assert server.verify(issued.token, ["x:y"]).valid
    assert CountingHashing.calls == 0, "the change was re-read from the store, not re-hashed"
    cli.close()
    server.close()


def test_a_secret_imported_elsewhere_verifies_here_within_a_second(tmp_path: Path) -> None:
    """A node that read a client's pair credentials learns of a new import by the feed."""
    from tests.conftest import load_vectors

    record = load_vectors("seed_scrypt.json")[0]
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    settings = Settings(hashing_profile="cheapest")
    server = KeyHive(url, settings=settings, change_interval=0.05)
    cli = KeyHive(url, settings=settings, watch_changes=False)
    cli.create_client("article", client_id=record["client_id"])
    assert server.verify_pair(record["client_id"], record["secret"]).code is Code.NOT_FOUND
    cli.import_secret(record["client_id"], record["stored"])
    deadline = time.monotonic() + 1.0
    while not server.verify_pair(record["client_id"], record["secret"]).valid:
        assert time.monotonic() < deadline, "the import did not reach the running hive"
        time.sleep(0.02)
    cli.close()
    server.close()
