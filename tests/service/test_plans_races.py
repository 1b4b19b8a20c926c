"""Racing admin changes of plans, on SQLite and PostgreSQL: each lands, none undoes another.

Several hives (as on several nodes) change one owner's limits at once: every named limit
set is kept, since each change locks the owner's record (made empty first for a new
owner, so two first changes queue instead of both inserting). A role deleted while
another node gives it to a secret: exactly one of the two wins, and the secret never
holds a role that is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from keyhive import Conflict, KeyHive, NotFound, Settings
from keyhive.core.errors import InvalidInput
from tests.service.racing import race

WRITERS = 6


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, db_url: str) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return db_url


@pytest.fixture
def hives(url: str) -> Iterator[list[KeyHive]]:
    made = [
        KeyHive(url, settings=Settings(hashing_profile="cheapest"), watch_changes=False)
        for _ in range(WRITERS)
    ]
    yield made
    for hive in made:
        hive.close()


def test_racing_changes_of_a_new_owner_all_land(hives: list[KeyHive]) -> None:
    calls: list[Callable[[], object]] = [
        (lambda h=h, i=i: h.set_owner_limits("acme", rate_changes={f"l{i}": f"{i + 1}/minute"}))
        for i, h in enumerate(hives)
    ]
    results = race(*calls)
    assert not [r for r in results if isinstance(r, Exception)], results
    limits = hives[0].get_owner_limits("acme").rate_limits
    assert sorted(limit.name for limit in limits) == [f"l{i}" for i in range(WRITERS)]
    events = [e for e in hives[0].audit(limit=100) if e.target_type == "owner"]
    assert len(events) == WRITERS, "each change is audited"


def test_a_role_deleted_while_a_secret_takes_it(hives: list[KeyHive]) -> None:
    first = hives[0]
    client = first.create_client("c")
    for round_ in range(3):
        name = f"r{round_}"
        first.create_role(name, scopes=["a:read"])
        secret = first.issue_secret(client.client_id).secret_id
        results = race(
            lambda n=name: hives[1].delete_role(n),
            lambda n=name, s=secret: hives[2].update(s, roles=[n]),
        )
        deleted, attached = results
        held = first.get_secret(secret).roles
        if isinstance(deleted, Exception):
            assert isinstance(deleted, Conflict) and held == (name,)
        else:
            assert isinstance(attached, (InvalidInput, NotFound)) and held == ()
            with pytest.raises(NotFound):
                first.get_role(name)
