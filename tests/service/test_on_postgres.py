"""The facade on PostgreSQL: the flows a node runs, and two nodes without Redis."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from keyhive import Code, FrozenClock, KeyHive, Settings

MakeHive = Callable[..., KeyHive]


@pytest.fixture
def make_hive(pg_url: str) -> Iterator[MakeHive]:
    made: list[KeyHive] = []

    def make(**kwargs: object) -> KeyHive:
        hive = KeyHive(pg_url, settings=Settings(hashing_profile="cheapest"), **kwargs)  # type: ignore[arg-type]
        made.append(hive)
        return hive

    yield make
    for hive in made:
        hive.close()


def test_lifecycle_on_postgres(make_hive: MakeHive, clock: FrozenClock) -> None:
    hive = make_hive(clock=clock)
    client = hive.create_client("pg", owner="team", metadata={"plan": "pro"})
    issued = hive.issue_secret(client.client_id, scopes=["articles:*"], expires_in="1d")
    assert hive.verify(issued.token, ["articles:read"]).valid
    successor = hive.rotate(issued.secret_id, grace="1h")
    clock.advance(timedelta(minutes=30))
    assert hive.verify(issued.token).valid and hive.verify(successor.token).valid
    clock.advance(timedelta(hours=1))
    assert hive.verify(issued.token).code is Code.REVOKED
    clock.advance(timedelta(days=1))
    assert hive.verify(successor.token).code is Code.EXPIRED
    actions = [e.action for e in hive.audit()]
    assert actions == ["client.create", "secret.issue", "secret.rotate", "secret.issue"]


def test_credits_and_usage_survive_a_restart(make_hive: MakeHive) -> None:
    first = make_hive()
    issued = first.issue_secret(first.create_client("c").client_id, credits=3, allowed_ips=["::1"])
    assert first.verify(issued.token, ip="::1").remaining == 2
    assert first.verify(issued.token, ip="127.0.0.1").code is Code.IP_NOT_ALLOWED
    first.close()
    second = make_hive()
    assert second.get_secret(issued.secret_id).usage_count == 1
    assert second.verify(issued.token, ip="::1").remaining == 1


def test_a_change_reaches_another_node_through_the_database_within_a_second(
    make_hive: MakeHive,
) -> None:
    """Without Redis, the audit-log poller carries the change."""
    a, b = make_hive(), make_hive()
    issued = a.issue_secret(a.create_client("c").client_id)
    assert b.verify(issued.token).valid
    a.revoke(issued.secret_id)
    start = time.monotonic()
    while b.verify(issued.token).code is not Code.REVOKED:
        assert time.monotonic() - start < 1.0
        time.sleep(0.02)
