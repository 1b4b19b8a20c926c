"""max_secrets under racing creations: two KeyHive instances on one database (a SQLite file
and PostgreSQL), creations released together from many threads, never pass the limit."""

from __future__ import annotations

from functools import partial

from keyhive import Conflict, KeyHive
from keyhive.core.portal import PortalSession
from tests.service.racing import race


def _session(hive: KeyHive, owner: str, limit: int) -> PortalSession:
    link = hive.create_portal_session(
        owner, allowed_scopes=["a:read"], max_secrets=limit, base_url="http://k.test"
    )
    session = hive.open_portal_session(link.url.rsplit("/", 1)[1])
    assert session is not None
    return session


def test_racing_creations_never_pass_max_secrets(pair: tuple[KeyHive, KeyHive]) -> None:
    a, b = pair
    for round_ in range(3):
        owner = f"owner-{round_}"
        session = _session(a, owner, 3)
        client_id = a.list_clients(owner=owner)[0].client_id
        calls = [
            partial(hive.portal_issue, session, client_id, scopes=["a:read"]) for hive in (a, b) * 4
        ]
        results = race(*calls)
        made = [r for r in results if not isinstance(r, Exception)]
        refused = [r for r in results if isinstance(r, Conflict)]
        assert len(made) == 3 and len(refused) == 5, results
        assert len(a.list_secrets(client_id)) == 3


def test_owners_do_not_share_a_limit(pair: tuple[KeyHive, KeyHive]) -> None:
    a, b = pair
    sessions = [_session(a, "x", 1), _session(b, "y", 1)]
    clients = [a.list_clients(owner=o)[0].client_id for o in ("x", "y")]
    results = race(
        *[
            partial(hive.portal_issue, s, c, scopes=["a:read"])
            for hive, s, c in zip((a, b), sessions, clients, strict=True)
        ]
    )
    assert not any(isinstance(r, Exception) for r in results), results


def test_racing_uses_of_one_link_open_one_session(pair: tuple[KeyHive, KeyHive]) -> None:
    a, b = pair
    link = a.create_portal_session("z", allowed_scopes=["a:read"], base_url="http://k.test")
    code = link.url.rsplit("/", 1)[1]
    results = race(*[partial(hive.open_portal_session, code) for hive in (a, b) * 3])
    assert sum(1 for r in results if isinstance(r, PortalSession)) == 1, results
    assert sum(1 for r in results if r is None) == 5, results


def test_racing_first_sessions_make_one_client(pair: tuple[KeyHive, KeyHive]) -> None:
    a, b = pair
    results = race(
        *[
            partial(
                hive.create_portal_session, "w", allowed_scopes=["a:read"], base_url="http://k.test"
            )
            for hive in (a, b) * 3
        ]
    )
    assert not any(isinstance(r, Exception) for r in results), results
    assert len(a.list_clients(owner="w")) == 1
