"""Plans in the library: named limits, costs, owners' shared limits and roles."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from keyhive import Code, Conflict, FrozenClock, InvalidInput, KeyHive, NotFound, Settings
from keyhive.core.quotas import RateLimit
from keyhive.storage.sql import _MIGRATIONS, SqlStore


@pytest.fixture
def client_id(hive: KeyHive) -> str:
    return hive.create_client("planned", owner="acme").client_id


def test_named_limits_in_every_form_and_the_single_string_still_works(
    hive: KeyHive, client_id: str
) -> None:
    one = hive.issue_secret(client_id, rate="100/minute").secret
    assert one.rate_limit == RateLimit(100, 60) and one.to_dict()["rate_limit"] == "100/minute"
    listed = hive.issue_secret(client_id, rate=["burst=20/second", "day=50000/day"]).secret
    mapped = hive.issue_secret(client_id, rate={"burst": "20/second", "day": "50000/day"}).secret
    assert listed.rate_limits == mapped.rate_limits
    assert [str(r) for r in listed.rate_limits] == ["burst=20/second", "day=50000/day"]
    unnamed = hive.issue_secret(client_id, rate=["5/second", "6/minute"]).secret
    assert [str(r) for r in unnamed.rate_limits] == ["5/second", "default-2=6/minute"]
    for bad in (["Bad Name=5/second"], ["x=1/minute"] * 9):
        with pytest.raises(InvalidInput):
            hive.issue_secret(client_id, rate=bad)
    with pytest.raises(Conflict):
        hive.issue_secret(client_id, rate=["x=5/second", "x=6/minute"])


def test_every_limit_counts_the_cost_and_a_refusal_spends_nothing(
    hive: KeyHive, client_id: str
) -> None:
    token = hive.issue_secret(client_id, rate=["burst=10/minute", "day=12/day"], credits=11).token
    first = hive.verify(token, cost=5)
    assert [s.remaining for s in first.limits] == [5, 7] and first.remaining == 6
    assert first.ratelimit is not None and first.ratelimit.name == "burst", "the tightest"
    refused = hive.verify(token, cost=6)
    assert refused.code is Code.RATE_LIMITED
    assert refused.limited_by is not None and refused.limited_by.name == "burst"
    assert hive.verify(token, cost=0).remaining == 6, "cost 0 checks without spending"
    assert hive.verify(token, cost=5).remaining == 1
    credits_out = hive.verify(token, cost=2)
    assert credits_out.code is Code.RATE_LIMITED, "day (2 left) refuses before credits do"
    for bad in (-1, 1.5, True, "1", 10**7):
        assert hive.verify(token, cost=bad).code is Code.NOT_FOUND  # type: ignore[arg-type]


def test_owner_limits_are_shared_and_a_change_reaches_cached_secrets(
    hive: KeyHive, client_id: str
) -> None:
    tokens = [hive.issue_secret(client_id).token for _ in range(2)]
    other = hive.issue_secret(hive.create_client("elsewhere", owner="globex").client_id).token
    assert all(hive.verify(t).valid for t in (*tokens, other))  # cached, unmetered
    hive.set_owner_limits("acme", rate="3/minute")
    codes = [hive.verify(tokens[i % 2]).code for i in range(5)]
    assert codes == [Code.VALID] * 3 + [Code.RATE_LIMITED] * 2
    limited = hive.verify(tokens[0])
    assert limited.limited_by is not None and limited.limited_by.holder == "owner"
    assert hive.verify(other).valid, "another owner's secrets are not limited"
    hive.set_owner_limits("acme", rate_changes={"default": None})
    assert hive.verify(tokens[0]).valid
    with pytest.raises(InvalidInput):
        hive.set_owner_limits("acme", rate_changes={"missing": None})


def test_owner_credits_survive_a_restart(db_url: str, clock: FrozenClock) -> None:
    settings = Settings(hashing_profile="cheapest")
    hive = KeyHive(db_url, settings=settings, clock=clock)
    hive.set_owner_limits("acme", credits=10, refill="monthly")
    token = hive.issue_secret(hive.create_client("c", owner="acme").client_id).token
    assert hive.verify(token, cost=7).remaining == 3
    hive.close()
    again = KeyHive(db_url, settings=settings, clock=clock)
    assert again.verify(token, cost=3).remaining == 0
    assert again.verify(token).code is Code.USAGE_EXCEEDED
    again.close()


def test_roles_grant_scopes_follow_changes_and_cannot_make_admins(
    hive: KeyHive, client_id: str
) -> None:
    hive.create_role("reader", scopes=["articles:read"], description="reads")
    issued = hive.issue_secret(client_id, scopes=["users:read"], roles=["reader"])
    result = hive.verify(issued.token, ["articles:read"])
    assert result.valid and result.scopes == ("articles:read", "users:read")
    assert result.to_dict()["roles"] == ["reader"]
    hive.update_role("reader", scopes=["articles:write"])
    assert hive.verify(issued.token, ["articles:read"]).code is Code.INSUFFICIENT_SCOPE
    assert hive.verify(issued.token, ["articles:write"]).valid
    for reserved in ("keyhive:admin", "keyhive:*", "keyhive:verify"):
        with pytest.raises(InvalidInput):
            hive.create_role("boss", scopes=[reserved])
    with pytest.raises(NotFound):
        hive.issue_secret(client_id, roles=["nobody"])
    with pytest.raises(Conflict):
        hive.create_role("reader", scopes=[])
    with pytest.raises(Conflict):
        hive.delete_role("reader")
    hive.update(issued.secret_id, roles=[])
    hive.delete_role("reader")
    assert hive.list_roles() == []


def test_migration_turns_each_rate_limit_into_one_named_limit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = SqlStore(url)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0005")
        conn.execute(
            sa.text("INSERT INTO clients VALUES ('c', 'n', NULL, '{}', 1, '2030-01-01 00:00:00')")
        )
        conn.execute(
            sa.text(
                "INSERT INTO secrets (secret_id, client_id, hash, created_at, usage_count, "
                "credits_used, rate_limit) VALUES ('s', 'c', 'x', '2030-01-01 00:00:00', 0, 0, "
                "'20/30s')"
            )
        )
    store.migrate()
    stored = store.get_secret("s")
    assert stored is not None and stored.secret.rate_limits == (RateLimit(20, 30, "default"),)
    store.close()
