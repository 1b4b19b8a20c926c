"""Portal sessions in the facade: links, sessions, and the owner's keys within the session's
rules, on the memory store and SQLite with a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from keyhive import Code, FrozenClock, KeyHive, Settings
from keyhive.core.errors import (
    ClientNotFound,
    ConfigurationError,
    Conflict,
    InvalidInput,
    InvalidScope,
    SecretNotFound,
)
from keyhive.core.portal import PortalLink, PortalSession

BASE = "https://keys.example.com"


@pytest.fixture(params=["memory", "sqlite"])
def hive(request: pytest.FixtureRequest, clock: FrozenClock, tmp_path: Path) -> Iterator[KeyHive]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'k.db'}"
    made = KeyHive(url, settings=Settings(hashing_profile="cheapest"), clock=clock)
    yield made
    made.close()


def _link(hive: KeyHive, owner: str = "ada", **options: object) -> PortalLink:
    options.setdefault("allowed_scopes", ["articles:read", "users:read"])
    return hive.create_portal_session(owner, base_url=BASE, **options)  # type: ignore[arg-type]


def _code(link: PortalLink) -> str:
    assert link.url.startswith(f"{BASE}/portal/enter/")
    return link.url.rsplit("/", 1)[1]


def _open(hive: KeyHive, owner: str = "ada", **options: object) -> PortalSession:
    session = hive.open_portal_session(_code(_link(hive, owner, **options)))
    assert session is not None
    return session


def _client_id(hive: KeyHive, session: PortalSession) -> str:
    return hive.portal_keys(session)[0][0].client_id


# -- links and sessions -------------------------------------------------------------------


def test_a_link_opens_its_session_once(hive: KeyHive, clock: FrozenClock) -> None:
    link = _link(hive, max_secrets=2, return_url="https://app.example/account", ttl="30m")
    assert link.expires_at == clock.now() + timedelta(minutes=30)
    assert _code(link) not in repr(link)
    session = hive.open_portal_session(_code(link))
    assert session is not None and session.owner == "ada" and session.max_secrets == 2
    assert session.allowed_scopes == ("articles:read", "users:read")
    assert session.return_url == "https://app.example/account"
    assert hive.open_portal_session(_code(link)) is None, "a second use opens nothing"
    assert hive.portal_session(session.session_id) == session


def test_the_code_is_kept_only_as_a_digest(hive: KeyHive) -> None:
    link = _link(hive)
    code = _code(link)
    for event in hive.audit():
        assert code not in str(event.to_dict())
    if hasattr(hive.store, "engine"):
        with hive.store.engine.connect() as conn:  # type: ignore[attr-defined]
            dump = "\n".join(
                str(row) for row in conn.exec_driver_sql("SELECT * FROM portal_sessions")
            )
        assert code not in dump and link.session.session_id in dump


def test_a_link_and_its_session_end_together(hive: KeyHive, clock: FrozenClock) -> None:
    late = _link(hive, ttl="10m")
    clock.advance(timedelta(minutes=10))
    assert hive.open_portal_session(_code(late)) is None, "an expired link opens nothing"
    session = _open(hive, ttl="1m")
    clock.advance(timedelta(seconds=59))
    assert hive.portal_session(session.session_id) is not None
    clock.advance(timedelta(seconds=1))
    assert hive.portal_session(session.session_id) is None


def test_an_unopened_or_unknown_session_is_not_live(hive: KeyHive) -> None:
    link = _link(hive)
    assert hive.portal_session(link.session.session_id) is None  # its code is unused
    for junk in ("", "x" * 65, "nope"):
        assert hive.portal_session(junk) is None
        assert hive.open_portal_session(junk) is None


def test_revoking_the_admin_secret_ends_its_sessions(hive: KeyHive) -> None:
    admin = hive.bootstrap_admin()
    assert admin is not None
    second = hive.issue_secret(admin.client_id, scopes=["keyhive:admin"])
    made = _link(hive, created_by=second.secret_id)
    unopened = _link(hive, "bob", created_by=second.secret_id)
    session = hive.open_portal_session(_code(made))
    assert session is not None and session.created_by == second.secret_id
    hive.revoke(second.secret_id)
    assert hive.portal_session(session.session_id) is None
    assert hive.open_portal_session(_code(unopened)) is None


def test_the_owner_gets_a_client_once(hive: KeyHive) -> None:
    first = _open(hive, client_name="Ada's apps")
    _open(hive, client_name="another name")
    clients = hive.list_clients(owner="ada")
    assert [c.name for c in clients] == ["Ada's apps"]
    assert [c.client_id for c, _ in hive.portal_keys(first)] == [clients[0].client_id]
    assert _open(hive, "bob").owner == "bob"
    assert [c.name for c in hive.list_clients(owner="bob")] == ["bob"]  # named after the owner


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"allowed_scopes": ["keyhive:*"]}, InvalidScope),
        ({"allowed_scopes": ["keyhive:admin", "a:b"]}, InvalidScope),
        ({"allowed_scopes": []}, InvalidScope),
        ({"ttl": "25h"}, InvalidInput),
        ({"ttl": "0s"}, InvalidInput),
        ({"max_secrets": -1}, InvalidInput),
        ({"return_url": "javascript:alert(1)"}, InvalidInput),
        ({"created_by": "not an id"}, InvalidInput),
    ],
)
def test_bad_sessions_are_refused_and_nothing_is_written(
    hive: KeyHive, options: dict[str, object], error: type[Exception]
) -> None:
    before = len(hive.audit())
    with pytest.raises(error):
        _link(hive, **options)
    assert len(hive.audit()) == before and hive.list_clients(owner="ada") == []


def test_keyhives_own_owner_is_refused(hive: KeyHive) -> None:
    hive.bootstrap_admin()
    with pytest.raises(Conflict, match="keyhive's own admin client"):
        _link(hive, "keyhive")


def test_a_link_needs_a_base_url(clock: FrozenClock) -> None:
    plain = KeyHive("memory://", settings=Settings(hashing_profile="cheapest"), clock=clock)
    with pytest.raises(ConfigurationError, match="KEYHIVE_PUBLIC_URL"):
        plain.create_portal_session("ada", allowed_scopes=["a:b"])
    with pytest.raises(InvalidInput):
        plain.create_portal_session("ada", allowed_scopes=["a:b"], base_url="keys.example.com")
    configured = KeyHive(
        "memory://",
        settings=Settings(hashing_profile="cheapest", public_url="https://k.example/"),
    )
    assert configured.create_portal_session("ada", allowed_scopes=["a:b"]).url.startswith(
        "https://k.example/portal/enter/"
    )


# -- the owner's keys ---------------------------------------------------------------------


def test_keys_are_issued_rotated_and_revoked_as_the_owner(
    hive: KeyHive, clock: FrozenClock
) -> None:
    session = _open(hive)
    client_id = _client_id(hive, session)
    issued = hive.portal_issue(
        session, client_id, scopes=["users:read"], name="laptop", expires_in="30d"
    )
    assert issued.secret.scopes == ("users:read",) and issued.secret.name == "laptop"
    assert issued.secret.expires_at == clock.now() + timedelta(days=30)
    assert hive.verify(issued.token, ["users:read"]).code is Code.VALID
    rotated = hive.portal_rotate(session, issued.secret_id, grace="1h")
    assert hive.verify(issued.token).valid and hive.verify(rotated.token).valid
    hive.portal_revoke(session, rotated.secret_id)
    assert hive.verify(rotated.token).code is Code.REVOKED
    clock.advance(timedelta(hours=1))
    assert hive.verify(issued.token).code is Code.REVOKED
    events = [(e.actor, e.action, e.target_id) for e in hive.audit()][-5:]
    assert events == [
        ("portal:ada", "portal.session.open", session.session_id),
        ("portal:ada", "secret.issue", issued.secret_id),
        ("portal:ada", "secret.rotate", issued.secret_id),
        ("portal:ada", "secret.issue", rotated.secret_id),
        ("portal:ada", "secret.revoke", rotated.secret_id),
    ]


@pytest.mark.parametrize(
    "scopes", [["articles:write"], ["keyhive:admin"], ["*"], ["users:read", "users:write"], []]
)
def test_scopes_outside_the_session_are_refused(hive: KeyHive, scopes: list[str]) -> None:
    session = _open(hive)
    client_id = _client_id(hive, session)
    with pytest.raises(InvalidScope):
        hive.portal_issue(session, client_id, scopes=scopes)
    assert hive.list_secrets(client_id) == []


def test_max_secrets_counts_active_keys(hive: KeyHive, clock: FrozenClock) -> None:
    session = _open(hive, max_secrets=2)
    client_id = _client_id(hive, session)
    one = hive.portal_issue(session, client_id, scopes=["users:read"])
    hive.portal_issue(session, client_id, scopes=["users:read"], expires_in="1h")
    with pytest.raises(Conflict, match="the most allowed here is 2"):
        hive.portal_issue(session, client_id, scopes=["users:read"])
    # A rotation replaces a key: allowed at the limit, and the old key stops counting.
    hive.portal_rotate(session, one.secret_id, grace="1h")
    with pytest.raises(Conflict):
        hive.portal_issue(session, client_id, scopes=["users:read"])
    clock.advance(timedelta(hours=1))  # the second key expired: room for one more
    hive.portal_issue(session, client_id, scopes=["users:read"])
    with pytest.raises(Conflict):
        hive.portal_issue(session, client_id, scopes=["users:read"])
    # Keys the admin issued to the owner count too.
    none_left = _open(hive, "bob", max_secrets=1)
    hive.issue_secret(_client_id(hive, none_left), scopes=["users:read"])
    with pytest.raises(Conflict):
        hive.portal_issue(none_left, _client_id(hive, none_left), scopes=["users:read"])


def test_a_key_in_its_rotation_grace_does_not_count_twice(hive: KeyHive) -> None:
    session = _open(hive, max_secrets=2)
    client_id = _client_id(hive, session)
    one = hive.portal_issue(session, client_id, scopes=["users:read"])
    hive.portal_rotate(session, one.secret_id, grace="1h")  # old and new both work for 1h
    hive.portal_issue(session, client_id, scopes=["users:read"])  # successor + this: 2
    with pytest.raises(Conflict, match="you have 2 active keys"):
        hive.portal_issue(session, client_id, scopes=["users:read"])


def test_another_owners_ids_are_not_found_and_nothing_changes(hive: KeyHive) -> None:
    ada = _open(hive)
    bob = _open(hive, "bob")
    bobs_client = _client_id(hive, bob)
    bobs = hive.portal_issue(bob, bobs_client, scopes=["users:read"])
    stranger = hive.create_client("no owner")
    strangers = hive.issue_secret(stranger.client_id, scopes=["users:read"])
    before = len(hive.audit())
    for secret_id in (bobs.secret_id, strangers.secret_id, "AAAAAAAAAAAAAAAA", "x" * 500):
        with pytest.raises(SecretNotFound):
            hive.portal_secret(ada, secret_id)
        with pytest.raises(SecretNotFound):
            hive.portal_rotate(ada, secret_id, grace="1h")
        with pytest.raises(SecretNotFound):
            hive.portal_revoke(ada, secret_id)
    for client_id in (bobs_client, stranger.client_id, "nope"):
        with pytest.raises(ClientNotFound):
            hive.portal_issue(ada, client_id, scopes=["users:read"])
    assert len(hive.audit()) == before
    assert hive.verify(bobs.token).valid and hive.verify(strangers.token).valid
    assert [c.name for c, _ in hive.portal_keys(ada)] == ["ada"]


def test_keys_with_scopes_the_portal_cannot_grant_are_left_alone(hive: KeyHive) -> None:
    session = _open(hive)
    client_id = _client_id(hive, session)
    broad = hive.issue_secret(client_id, scopes=["*"])
    with pytest.raises(Conflict, match="cannot be granted here"):
        hive.portal_rotate(session, broad.secret_id, grace="1h")
    with pytest.raises(Conflict):
        hive.portal_revoke(session, broad.secret_id)
    assert hive.get_secret(broad.secret_id).replaced_by is None
    assert hive.portal_secret(session, broad.secret_id).scopes == ("*",)  # shown, read-only


def test_portal_rules_on_rotation(hive: KeyHive) -> None:
    session = _open(hive)
    issued = hive.portal_issue(session, _client_id(hive, session), scopes=["users:read"])
    with pytest.raises(InvalidInput, match="at most 7 days"):
        hive.portal_rotate(session, issued.secret_id, grace="8d")
    hive.portal_rotate(session, issued.secret_id, grace="0s")
    with pytest.raises(Conflict):  # the admin API's own rule
        hive.portal_rotate(session, issued.secret_id, grace="0s")
