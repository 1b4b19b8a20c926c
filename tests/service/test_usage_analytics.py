"""Usage analytics: every verdict for a matched secret lands in its hourly bucket.

On the memory store and SQLite, with a frozen clock, so buckets and retention are exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from keyhive import Code, ConfigurationError, FrozenClock, InvalidInput, KeyHive, Settings
from keyhive.core.usage import USAGE_CODES, Window

START = datetime(2030, 1, 1, 10, 20, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def any_hive(request: pytest.FixtureRequest, db_url: str, clock: FrozenClock) -> Iterator[KeyHive]:
    url = "memory://" if request.param == "memory" else db_url
    h = KeyHive(
        url,
        settings=Settings(hashing_profile="cheapest", usage_retention=timedelta(days=3)),
        clock=clock,
        usage_flush_interval=3600,
    )
    yield h
    h.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


def _mix(hive: KeyHive) -> dict[str, Any]:
    """One secret per refusal, each verified a known number of times; returns the ids."""
    client = hive.create_client("acme")
    off = hive.create_client("off")
    ok = hive.issue_secret(client.client_id, scopes=["a:read"])
    revoked = hive.issue_secret(client.client_id)
    expired = hive.issue_secret(client.client_id)
    walled = hive.issue_secret(client.client_id, allowed_ips=["10.0.0.0/8"])
    rated = hive.issue_secret(client.client_id, rate="2/hour")
    metered = hive.issue_secret(client.client_id, credits=3)
    disabled = hive.issue_secret(off.client_id)
    hive.revoke(revoked.secret_id)
    hive.update(expired.secret_id, expires_at=hive.clock.now() - timedelta(seconds=1))
    hive.disable_client(off.client_id)
    for _ in range(4):
        assert hive.verify(ok.token, ["a:read"]).code is Code.VALID
    for _ in range(2):
        assert hive.verify(ok.token, ["a:write"]).code is Code.INSUFFICIENT_SCOPE
    assert hive.verify(revoked.token).code is Code.REVOKED
    for _ in range(3):
        assert hive.verify(expired.token).code is Code.EXPIRED
    assert hive.verify(walled.token, ip="192.0.2.1").code is Code.IP_NOT_ALLOWED
    assert hive.verify(walled.token, ip="10.1.1.1").code is Code.VALID
    assert [hive.verify(rated.token).code for _ in range(3)] == [Code.VALID] * 2 + [
        Code.RATE_LIMITED
    ]
    assert [hive.verify(metered.token).code for _ in range(5)] == [Code.VALID] * 3 + [
        Code.USAGE_EXCEEDED
    ] * 2
    assert hive.verify(disabled.token).code is Code.DISABLED
    assert not hive.verify(ok.token[:-3] + "AAA").valid  # NOT_FOUND: counted nowhere
    return {
        "client": client.client_id,
        "ok": ok.secret_id,
        "revoked": revoked.secret_id,
        "expired": expired.secret_id,
        "walled": walled.secret_id,
        "rated": rated.secret_id,
        "metered": metered.secret_id,
        "disabled": disabled.secret_id,
    }


def _nonzero(totals: dict[Code, int]) -> dict[str, int]:
    return {code.value: n for code, n in totals.items() if n}


def test_each_attributable_code_is_counted_per_secret(any_hive: KeyHive) -> None:
    writes: list[object] = []
    store = any_hive.store
    original = store.record_usage
    store.record_usage = lambda usage: (writes.append(usage), original(usage))[1]  # type: ignore[method-assign]
    ids = _mix(any_hive)
    assert writes == [], "no database write per verification"

    def totals(key: str) -> dict[str, int]:
        return _nonzero(any_hive.usage(ids[key], "1d").totals())

    assert totals("ok") == {"VALID": 4, "INSUFFICIENT_SCOPE": 2}
    assert len(writes) == 1, "the read wrote the pending batch once"
    assert totals("revoked") == {"REVOKED": 1}
    assert totals("expired") == {"EXPIRED": 3}
    assert totals("walled") == {"VALID": 1, "IP_NOT_ALLOWED": 1}
    assert totals("rated") == {"VALID": 2, "RATE_LIMITED": 1}
    assert totals("metered") == {"VALID": 3, "USAGE_EXCEEDED": 2}
    assert totals("disabled") == {"DISABLED": 1}
    assert _nonzero(any_hive.client_usage(ids["client"], "1d").totals()) == {
        "VALID": 10,
        "INSUFFICIENT_SCOPE": 2,
        "REVOKED": 1,
        "EXPIRED": 3,
        "IP_NOT_ALLOWED": 1,
        "RATE_LIMITED": 1,
        "USAGE_EXCEEDED": 2,
    }
    assert any_hive.total_usage("1d").total() == 21  # and the disabled client's one
    # Only VALID verdicts move usage_count and last_used_at.
    assert any_hive.get_secret(ids["ok"]).usage_count == 4
    assert any_hive.get_secret(ids["expired"]).usage_count == 0
    assert any_hive.get_secret(ids["expired"]).last_used_at is None
    assert any_hive.get_secret(ids["metered"]).usage_count == 3


def test_buckets_follow_the_clock_hour_by_hour_and_day_by_day(
    any_hive: KeyHive, clock: FrozenClock
) -> None:
    issued = any_hive.issue_secret(any_hive.create_client("c").client_id)
    any_hive.verify(issued.token)  # 10:20
    clock.advance(timedelta(hours=2))  # 12:20
    any_hive.verify(issued.token)
    any_hive.verify(issued.token, ["x:y"])
    clock.advance(timedelta(days=1))  # next day 12:20
    any_hive.verify(issued.token)

    hourly = any_hive.usage(issued.secret_id, "26h")
    assert len(hourly.times) == 26
    assert hourly.times[0] == datetime(2030, 1, 1, 11, tzinfo=UTC)  # 10:20 lies before
    assert hourly.times[-1] == datetime(2030, 1, 2, 12, tzinfo=UTC)
    valid = dict(zip(hourly.times, hourly.counts[Code.VALID], strict=True))
    assert valid[datetime(2030, 1, 1, 12, tzinfo=UTC)] == 1
    assert valid[datetime(2030, 1, 2, 12, tzinfo=UTC)] == 1
    assert hourly.total() == 3

    daily = any_hive.usage(issued.secret_id, "2d", "day")
    assert daily.times == (datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 2, tzinfo=UTC))
    assert daily.counts[Code.VALID] == (2, 1)
    assert daily.counts[Code.INSUFFICIENT_SCOPE] == (1, 0)
    data = daily.to_dict()
    assert data["times"] == ["2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z"]
    assert set(data["series"]) == {code.value for code in USAGE_CODES}
    assert "NOT_FOUND" not in data["series"]
    assert data["totals"]["VALID"] == 3


def test_old_buckets_are_pruned_at_flush_time_at_most_once_an_hour(
    any_hive: KeyHive, clock: FrozenClock
) -> None:
    issued = any_hive.issue_secret(any_hive.create_client("c").client_id)
    prunes: list[datetime] = []
    store = any_hive.store
    original = store.prune_usage
    store.prune_usage = lambda before: (prunes.append(before), original(before))[1]  # type: ignore[method-assign]
    any_hive.verify(issued.token)
    any_hive.flush()
    assert len(prunes) == 1
    clock.advance(timedelta(minutes=30))
    any_hive.verify(issued.token)
    any_hive.flush()
    assert len(prunes) == 1, "pruned again within the hour"
    everything = START - timedelta(days=365)
    assert sum(r.count for r in store.usage_rows(since=everything)) == 2

    clock.advance(timedelta(days=4))  # past the 3-day retention
    any_hive.verify(issued.token)
    any_hive.flush()
    assert len(prunes) == 2
    assert prunes[-1] == datetime(2030, 1, 2, 10, tzinfo=UTC)  # now - 3d, to the hour
    rows = store.usage_rows(since=everything)
    assert [(r.hour, r.count) for r in rows] == [(datetime(2030, 1, 5, 10, tzinfo=UTC), 1)]


def test_a_failed_flush_keeps_the_buckets(hive: KeyHive) -> None:
    issued = hive.issue_secret(hive.create_client("c").client_id)
    hive.verify(issued.token)
    hive.verify(issued.token, ["x:y"])

    def broken(_usage: object) -> None:
        raise RuntimeError("database down")

    flush = hive._usage._flush
    hive._usage._flush = broken
    with pytest.raises(RuntimeError):
        hive.flush()
    hive._usage._flush = flush
    totals = hive.usage(issued.secret_id, "1h").totals()
    assert (totals[Code.VALID], totals[Code.INSUFFICIENT_SCOPE]) == (1, 1)
    assert hive.get_secret(issued.secret_id).usage_count == 1


@pytest.mark.parametrize(
    ("since", "bucket", "field"),
    [
        ("0s", "hour", "since"),
        ("32d", "hour", "since"),
        ("401d", "day", "since"),
        ("soon", "hour", None),
        ("7d", "week", "bucket"),
    ],
)
def test_bad_windows_are_clear_errors(
    hive: KeyHive, since: str, bucket: str, field: str | None
) -> None:
    issued = hive.issue_secret(hive.create_client("c").client_id)
    with pytest.raises(InvalidInput) as caught:
        hive.usage(issued.secret_id, since, bucket)
    if field is not None:
        assert caught.value.field == field


def test_unknown_ids_are_not_found(hive: KeyHive) -> None:
    from keyhive import ClientNotFound, SecretNotFound

    with pytest.raises(SecretNotFound):
        hive.usage("A" * 16)
    with pytest.raises(ClientNotFound):
        hive.client_usage("nobody")


def test_window_covers_the_current_bucket() -> None:
    now = datetime(2030, 3, 4, 5, 6, tzinfo=UTC)
    week = Window.ending_at(now, "7d", "day")
    assert (week.start, week.end) == (
        datetime(2030, 2, 26, tzinfo=UTC),
        datetime(2030, 3, 5, tzinfo=UTC),
    )
    assert len(Window.ending_at(now, "90m", "hour").times()) == 2


def test_retention_setting() -> None:
    assert Settings.from_env({}).usage_retention == timedelta(days=90)
    assert Settings.from_env({"KEYHIVE_USAGE_RETENTION": "30d"}).usage_retention == timedelta(
        days=30
    )
    for bad in ("forever", "10m"):
        with pytest.raises(ConfigurationError, match="KEYHIVE_USAGE_RETENTION"):
            Settings.from_env({"KEYHIVE_USAGE_RETENTION": bad})
