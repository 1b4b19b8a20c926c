"""``KeyHive.recover_admin``: a fresh admin secret with only the database at hand."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from keyhive import Code, FrozenClock, KeyHive
from keyhive.service.hive import ADMIN_OWNER, ADMIN_SCOPE, VERIFY_SCOPE


def _actions(hive: KeyHive, after: int) -> list[str]:
    return [e.action for e in hive.audit(after_id=after, limit=1000)]


def _last_id(hive: KeyHive) -> int:
    return hive.store.last_audit_id()


def test_recovers_on_the_existing_admin_client(sqlite_hive: KeyHive) -> None:
    first = sqlite_hive.bootstrap_admin()
    assert first is not None
    sqlite_hive.revoke(first.secret_id)  # the library may remove the last admin
    assert not sqlite_hive.verify(first.token, [ADMIN_SCOPE]).valid
    mark = _last_id(sqlite_hive)
    recovered = sqlite_hive.recover_admin(actor="cli:ops")
    assert recovered.client_id == first.client_id
    assert set(recovered.secret.scopes) == {ADMIN_SCOPE, VERIFY_SCOPE}
    assert sqlite_hive.verify(recovered.token, [ADMIN_SCOPE, VERIFY_SCOPE]).valid
    assert _actions(sqlite_hive, mark) == ["secret.issue", "admin.recover"]
    event = sqlite_hive.audit(after_id=mark, limit=10)[-1]
    assert (event.actor, event.target_id) == ("cli:ops", recovered.secret_id)
    assert recovered.token not in str(event.to_dict())


def test_a_disabled_admin_client_is_enabled_again(hive: KeyHive) -> None:
    first = hive.bootstrap_admin()
    assert first is not None
    hive.disable_client(first.client_id)
    assert hive.verify(first.token).code is Code.DISABLED
    mark = _last_id(hive)
    recovered = hive.recover_admin(actor="cli:ops")
    assert hive.get_client(first.client_id).enabled
    assert hive.verify(recovered.token, [ADMIN_SCOPE]).valid
    assert _actions(hive, mark) == ["client.enable", "secret.issue", "admin.recover"]


def test_an_expired_admin_is_replaced(hive: KeyHive, clock: FrozenClock) -> None:
    client = hive.create_client("keyhive admin", owner=ADMIN_OWNER)
    old = hive.issue_secret(client.client_id, scopes=[ADMIN_SCOPE], expires_in="1d")
    clock.advance(timedelta(days=2))
    assert hive.verify(old.token).code is Code.EXPIRED
    assert hive.recover_admin().client_id == client.client_id


def test_with_no_admin_client_one_is_created(hive: KeyHive) -> None:
    mark = _last_id(hive)
    recovered = hive.recover_admin(actor="cli:ops")
    client = hive.get_client(recovered.client_id)
    assert (client.owner, client.enabled) == (ADMIN_OWNER, True)
    assert _actions(hive, mark) == ["client.create", "secret.issue", "admin.recover"]
    assert hive.bootstrap_admin() is None  # init now finds the admin client


def test_the_async_twin_recovers_too(hive: KeyHive) -> None:
    from keyhive import AsyncKeyHive

    recovered = asyncio.run(AsyncKeyHive(hive).recover_admin(actor="x"))
    assert hive.verify(recovered.token, [ADMIN_SCOPE]).valid
