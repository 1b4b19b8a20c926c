"""The OAuth part of the Store contract (``store.oauth``), on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from keyhive.core.model import AuditEvent
from keyhive.storage import Store
from keyhive.storage.oauth import RevokedToken, SigningKeyRecord

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def key(kid: str, generation: int) -> SigningKeyRecord:
    return SigningKeyRecord(
        kid=kid,
        generation=generation,
        alg="Ed25519",
        public_jwk={"kty": "OKP", "crv": "Ed25519", "x": kid, "kid": kid},
        private_sealed="v1.sealed",
        server_key_id="k1",
        created_at=NOW + timedelta(seconds=generation),
    )


def event(target_type: str, target_id: str) -> AuditEvent:
    return AuditEvent(None, NOW, "test", f"{target_type}.create", target_type, target_id)


def test_one_key_per_generation(store: Store) -> None:
    oauth = store.oauth
    assert oauth.signing_keys() == []
    assert oauth.add_signing_key(key("a", 1), event("oauth_key", "a"))
    assert not oauth.add_signing_key(key("b", 1), event("oauth_key", "b"))
    assert not oauth.add_signing_key(key("a", 2), event("oauth_key", "a"))
    assert oauth.add_signing_key(key("c", 2), event("oauth_key", "c"))
    assert [k.kid for k in oauth.signing_keys()] == ["c", "a"]
    assert oauth.signing_keys()[1] == key("a", 1)
    # Only the winners' audit events were written.
    assert [e.target_id for e in store.list_audit()] == ["a", "c"]
    oauth.delete_signing_keys(["a"])
    assert [k.kid for k in oauth.signing_keys()] == ["c"]


def test_revoked_tokens(store: Store) -> None:
    oauth = store.oauth
    soon = RevokedToken("j1", "client", "sid", NOW + timedelta(minutes=5), NOW)
    later = RevokedToken("j2", "client", None, NOW + timedelta(minutes=15), NOW)
    assert oauth.revoke_token(soon, event("token", "j1"))
    assert not oauth.revoke_token(soon, event("token", "j1"))
    assert oauth.revoke_token(later, event("token", "j2"))
    assert oauth.revoked_token("j1") == soon
    assert oauth.revoked_token("nope") is None
    assert {r.jti for r in oauth.revoked_tokens(expiring_after=NOW)} == {"j1", "j2"}
    after = NOW + timedelta(minutes=10)
    assert [r.jti for r in oauth.revoked_tokens(expiring_after=after)] == ["j2"]
    assert oauth.drop_revoked_tokens(expired_before=after) == 1
    assert oauth.revoked_token("j1") is None
    assert [e.target_id for e in store.list_audit()] == ["j1", "j2"]


def test_delete_all_empties_oauth_too(store: Store) -> None:
    store.oauth.add_signing_key(key("a", 1), event("oauth_key", "a"))
    store.oauth.revoke_token(RevokedToken("j", "c", None, NOW, NOW), event("token", "j"))
    store.delete_all()
    assert store.oauth.signing_keys() == []
    assert store.oauth.revoked_token("j") is None
