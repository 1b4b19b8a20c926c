"""Admin changes racing each other in-process: two KeyHive instances on one database
(SQLite file and PostgreSQL), each change run from its own thread at the same moment."""

from __future__ import annotations

from functools import partial

import pytest

from keyhive import Code, Conflict, KeyHive
from tests.service.racing import race


def test_revoke_and_update_both_land(pair: tuple[KeyHive, KeyHive]) -> None:
    a, b = pair
    client = a.create_client("c")
    for _ in range(30):
        issued = a.issue_secret(client.client_id, scopes=["a:read"])
        revoked, updated = race(
            partial(a.revoke, issued.secret_id, reason="race"),
            partial(b.update, issued.secret_id, scopes=["a:read", "a:write"]),
        )
        assert not isinstance(revoked, Exception), revoked
        assert isinstance(updated, Conflict) or not isinstance(updated, Exception), updated
        assert a.get_secret(issued.secret_id).revoked_at is not None, "the revoke was lost"
        assert b.verify(issued.token).code is Code.REVOKED


def test_disable_and_update_both_land(pair: tuple[KeyHive, KeyHive]) -> None:
    a, b = pair
    for i in range(30):
        client = a.create_client(f"c{i}")
        results = race(
            partial(a.disable_client, client.client_id),
            partial(b.update_client, client.client_id, name="renamed"),
        )
        assert not any(isinstance(r, Exception) for r in results), results
        now = b.get_client(client.client_id)
        assert (now.enabled, now.name) == (False, "renamed")


def test_rotating_twice_at_once_gives_one_successor(pair: tuple[KeyHive, KeyHive]) -> None:
    a, b = pair
    client = a.create_client("c")
    for _ in range(20):
        issued = a.issue_secret(client.client_id)
        results = race(partial(a.rotate, issued.secret_id), partial(b.rotate, issued.secret_id))
        conflicts = [r for r in results if isinstance(r, Conflict)]
        winners = [r for r in results if not isinstance(r, Exception)]
        assert (len(winners), len(conflicts)) == (1, 1), results
        assert a.get_secret(issued.secret_id).replaced_by == winners[0].secret_id
    successors = [s for s in a.list_secrets(client.client_id) if s.rotated_from]
    assert len(successors) == 20


def test_a_revoked_secret_cannot_be_changed(pair: tuple[KeyHive, KeyHive]) -> None:
    a, b = pair
    issued = a.issue_secret(a.create_client("c").client_id, scopes=["a:read"])
    a.revoke(issued.secret_id)
    with pytest.raises(Conflict, match="revoked"):
        b.update(issued.secret_id, scopes=["a:write"])
    with pytest.raises(Conflict, match="revoked"):
        b.rotate(issued.secret_id)
    assert b.get_secret(issued.secret_id).scopes == ("a:read",)
