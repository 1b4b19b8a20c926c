"""Usage counts: in memory per verification, written in batches, kept on a clean shutdown."""

from __future__ import annotations

from keyhive import FrozenClock, KeyHive, Settings


def test_usage_is_batched_and_survives_clean_shutdown(db_url: str, clock: FrozenClock) -> None:
    settings = Settings(hashing_profile="cheapest")
    hive = KeyHive(db_url, settings=settings, clock=clock, usage_flush_interval=3600)
    issued = hive.issue_secret(hive.create_client("c").client_id)
    writes: list[object] = []
    original = hive.store.record_usage
    hive.store.record_usage = lambda usage: (writes.append(usage), original(usage))[1]  # type: ignore[method-assign]
    hive._usage._flush = hive.store.record_usage  # the buffer holds the bound method
    for _ in range(50):
        assert hive.verify(issued.token).valid
    assert writes == [], "no database write per verification"
    assert hive.get_secret(issued.secret_id).usage_count == 0
    hive.close()
    assert len(writes) == 1
    reopened = KeyHive(db_url, settings=settings, clock=clock)
    secret = reopened.get_secret(issued.secret_id)
    assert secret.usage_count == 50
    assert secret.last_used_at == clock.now()
    reopened.close()


def test_failed_flush_keeps_the_counts(hive: KeyHive) -> None:
    issued = hive.issue_secret(hive.create_client("c").client_id)
    hive.verify(issued.token)
    hive.verify(issued.token)

    def broken(_usage: object) -> None:
        raise RuntimeError("database down")

    hive._usage._flush = broken
    try:
        hive.flush()
    except RuntimeError:
        pass
    assert hive._usage.pending()[issued.secret_id].count == 2
    hive._usage._flush = hive.store.record_usage
    hive.flush()
    assert hive.get_secret(issued.secret_id).usage_count == 2
