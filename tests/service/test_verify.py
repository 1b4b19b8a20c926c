"""Verification semantics: one code per outcome, details only after the secret matched."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from keyhive import Code, FrozenClock, KeyHive, Settings
from keyhive.core.hashing import Hashing
from keyhive.core.tokens import checksum


def forged(token: str) -> str:
    """Same prefix and id, another random part, a correct checksum: passes the format."""
    body = token[:-6]
    other = body[:-1] + ("A" if body[-1] != "A" else "B")
    return other + checksum(other)


@pytest.fixture
def client_id(hive: KeyHive) -> str:
    return hive.create_client("acme", owner="o", metadata={"plan": "pro"}).client_id


def test_valid_with_details(hive: KeyHive, client_id: str) -> None:
    issued = hive.issue_secret(client_id, scopes=["articles:*", "users:read"])
    result = hive.verify(issued.token, ["articles:create", "users:read"])
    assert result.valid and result.code is Code.VALID
    assert result.client_id == client_id and result.secret_id == issued.secret_id
    data = result.to_dict()
    assert data["owner"] == "o" and data["metadata"] == {"plan": "pro"}
    assert data["scopes"] == ["articles:*", "users:read"]


def test_insufficient_scope_needs_every_required_scope(hive: KeyHive, client_id: str) -> None:
    issued = hive.issue_secret(client_id, scopes=["articles:read"])
    assert (
        hive.verify(issued.token, ["articles:read", "users:read"]).code is Code.INSUFFICIENT_SCOPE
    )
    assert hive.verify(issued.token, ["articles:create"]).code is Code.INSUFFICIENT_SCOPE
    assert hive.verify(issued.token, []).code is Code.VALID


def test_star_scope_allows_everything(hive: KeyHive, client_id: str) -> None:
    issued = hive.issue_secret(client_id, scopes=["*"])
    assert hive.verify(issued.token, ["a:b", "c:d"]).valid


def test_wrong_secret_unknown_id_and_garbage_are_one_code(hive: KeyHive, client_id: str) -> None:
    issued = hive.issue_secret(client_id, scopes=["a:b"])
    unknown = forged(issued.token.replace(issued.secret_id, "Z" * 16))
    for bad in (forged(issued.token), unknown, "garbage", issued.token[:-1], ""):
        result = hive.verify(bad)
        assert result.code is Code.NOT_FOUND
        assert result.client is None and result.secret is None
        assert result.to_dict()["client_id"] is None


def test_another_prefix_does_not_match(hive: KeyHive, client_id: str) -> None:
    issued = hive.issue_secret(client_id, prefix="acme")
    assert hive.verify(issued.token).valid
    renamed = "kh" + issued.token[4:-6]
    assert hive.verify(renamed + checksum(renamed)).code is Code.NOT_FOUND


def test_codes_other_than_not_found_only_after_a_match(
    hive: KeyHive, client_id: str, clock: FrozenClock
) -> None:
    issued = hive.issue_secret(client_id, expires_in="1h")
    hive.revoke(issued.secret_id)
    assert hive.verify(issued.token).code is Code.REVOKED
    assert hive.verify(forged(issued.token)).code is Code.NOT_FOUND
    hive.disable_client(client_id)
    other = hive.issue_secret(client_id)
    assert hive.verify(other.token).code is Code.DISABLED
    assert hive.verify(forged(other.token)).code is Code.NOT_FOUND


def test_expiry_is_exact(hive: KeyHive, client_id: str, clock: FrozenClock) -> None:
    issued = hive.issue_secret(client_id, expires_in="90d")
    clock.advance(timedelta(days=90) - timedelta(seconds=1))
    assert hive.verify(issued.token).valid
    clock.advance(1)
    assert hive.verify(issued.token).code is Code.EXPIRED


def test_rotation_grace_period(hive: KeyHive, client_id: str, clock: FrozenClock) -> None:
    old = hive.issue_secret(client_id, scopes=["a:b"], name="deploy")
    new = hive.rotate(old.secret_id, grace="24h")
    assert new.secret.scopes == ("a:b",) and new.secret.name == "deploy"
    assert new.secret.rotated_from == old.secret_id
    assert hive.get_secret(old.secret_id).replaced_by == new.secret_id
    assert hive.verify(old.token, ["a:b"]).valid and hive.verify(new.token, ["a:b"]).valid
    clock.advance(timedelta(hours=24) - timedelta(seconds=1))
    assert hive.verify(old.token).valid
    clock.advance(1)
    assert hive.verify(old.token).code is Code.REVOKED
    assert hive.verify(new.token).valid


def test_rotation_without_grace_revokes_at_once(hive: KeyHive, client_id: str) -> None:
    old = hive.issue_secret(client_id)
    new = hive.rotate(old.secret_id)
    assert hive.verify(old.token).code is Code.REVOKED
    assert hive.verify(new.token).valid


def test_disable_and_enable(hive: KeyHive, client_id: str) -> None:
    issued = hive.issue_secret(client_id)
    hive.disable_client(client_id)
    assert hive.verify(issued.token).code is Code.DISABLED
    hive.enable_client(client_id)
    assert hive.verify(issued.token).valid


def test_scope_and_expiry_updates_apply_at_once(
    hive: KeyHive, client_id: str, clock: FrozenClock
) -> None:
    issued = hive.issue_secret(client_id, scopes=["a:read"])
    assert hive.verify(issued.token, ["a:read"]).valid
    hive.update(issued.secret_id, scopes=["b:read"])
    assert hive.verify(issued.token, ["a:read"]).code is Code.INSUFFICIENT_SCOPE
    hive.update(issued.secret_id, expires_in="1m")
    clock.advance(61)
    assert hive.verify(issued.token, ["b:read"]).code is Code.EXPIRED
    hive.update(issued.secret_id, expires_at=None)
    assert hive.verify(issued.token, ["b:read"]).valid


class CountingHashing(Hashing):
    """Counts how often a hash is computed, to show unknown ids cost a hash too."""

    calls = 0

    def matches(self, stored: str, secret: str) -> bool:
        type(self).calls += 1
        return super().matches(stored, secret)


@pytest.mark.parametrize("digests", [True, False])
def test_unknown_id_costs_what_a_wrong_secret_costs(
    clock: FrozenClock, tmp_path: Path, digests: bool
) -> None:
    """With a server key both cost a digest and no slow hash; without one (digests off),
    both cost one slow hash. Garbage costs nothing either way."""
    base = Settings(hashing_profile="cheapest").make_hashing()
    counting = CountingHashing(base.current)
    url = "memory://" if digests else f"sqlite:///{tmp_path / 'k.db'}"
    hive = KeyHive(
        url, hashing=counting, clock=clock, throttle=None, migrate=digests, watch_changes=False
    )
    if not digests:
        hive.store.migrate()  # without the key file that migrating through KeyHive writes
    issued = hive.issue_secret(hive.create_client("c").client_id)
    per_check = 0 if digests else 1
    CountingHashing.calls = 0
    hive.verify(forged(issued.token.replace(issued.secret_id, "Q" * 16)))
    assert CountingHashing.calls == per_check, "an unknown id costs what a wrong secret costs"
    hive.verify(forged(issued.token))
    assert CountingHashing.calls == 2 * per_check
    hive.verify("kh_" + "x" * 70)
    hive.verify(issued.token[:-1] + ("0" if issued.token[-1] != "0" else "1"))
    assert CountingHashing.calls == 2 * per_check, "malformed tokens are rejected before hashing"
    hive.close()


def test_verify_pair_with_a_token(hive: KeyHive, client_id: str) -> None:
    issued = hive.issue_secret(client_id)
    other = hive.create_client("other").client_id
    assert hive.verify_pair(client_id, issued.token).valid
    assert hive.verify_pair(other, issued.token).code is Code.NOT_FOUND


def test_a_revoke_is_refused_by_the_very_next_verification_on_the_real_clock() -> None:
    """Verification reads the real clock in millisecond ticks; the reading is never
    behind it, so a revoke or an expiry that just happened is seen by the next request,
    however soon after."""
    with KeyHive("memory://", settings=Settings(hashing_profile="cheapest")) as live:
        client = live.create_client("c")
        for _ in range(200):
            issued = live.issue_secret(client.client_id)
            assert live.verify(issued.token).valid
            live.revoke(issued.secret_id)
            assert live.verify(issued.token).code is Code.REVOKED
            soon = live.issue_secret(client.client_id, expires_in=timedelta(microseconds=1))
            assert live.verify(soon.token).code is Code.EXPIRED
