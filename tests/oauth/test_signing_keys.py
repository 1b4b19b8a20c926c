"""Signing keys: sealed in the database, refused without a durable server key, one new
key when nodes rotate at the same moment (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from keyhive import FrozenClock, KeyHive, Settings
from keyhive.core.oauth import TokenServiceUnavailable
from keyhive.server import create_app
from keyhive.service.oauth import OAuthService

from .conftest import oauth_settings


def _grant(hive: KeyHive) -> dict[str, str]:
    owner = hive.create_client("c")
    issued = hive.issue_secret(owner.client_id, scopes=["a:read"])
    return {
        "grant_type": "client_credentials",
        "client_id": owner.client_id,
        "client_secret": issued.token,
    }


@pytest.mark.parametrize("alg", ["Ed25519", "ES256", "RS256"])
def test_private_keys_never_reach_the_database_in_plain(tmp_path: Path, alg: str) -> None:
    path = tmp_path / "keyhive.db"
    hive = KeyHive(f"sqlite:///{path}", settings=oauth_settings(oauth_alg=alg))
    service = OAuthService(hive, watch=False)
    service.token(**_grant(hive))
    service.rotate()
    opened = [service.signing._open(r) for r in hive.store.oauth.signing_keys()]
    service.close()
    hive.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("keyhive.db"))
    assert len(opened) == 2
    for key in opened:
        private = key.private.as_dict(private=True)
        secret_member = private["d"]  # the private scalar (OKP, EC) or exponent (RSA)
        assert secret_member.encode() not in raw
        assert base64.urlsafe_b64decode(secret_member + "==") not in raw
        assert json.dumps(private).encode() not in raw
        assert key.record.public_jwk["x" if alg != "RS256" else "n"].encode() in raw


def test_a_database_copy_without_the_server_key_cannot_sign(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keyhive.db'}"
    with KeyHive(url, settings=oauth_settings()) as hive:
        grant = _grant(hive)
        OAuthService(hive, watch=False).token(**grant)
    other = (("k9", b"another server key, 32 bytes!!!!"),)
    with KeyHive(url, settings=oauth_settings(peppers=other)) as thief:
        service = OAuthService(thief, watch=False)
        # The old key does not open; a fresh one is made under the key this node has.
        token = service.token(**grant)
        [current, old] = thief.store.oauth.signing_keys()
        assert current.server_key_id == "k9"
        assert old.server_key_id == "k1"
        assert service.introspect(token.access_token)["active"] is True
        service.close()


def test_no_tokens_without_a_durable_server_key(clock: FrozenClock) -> None:
    settings = Settings(
        hashing_profile="cheapest",
        oauth_issuer="https://auth.example",
        oauth_audience="https://api.example",
    )
    with KeyHive("memory://", settings=settings, clock=clock) as hive:
        assert not hive.server_keys.durable
        grant = _grant(hive)
        service = OAuthService(hive, watch=False)
        with pytest.raises(TokenServiceUnavailable):
            service.token(**grant)
        app: FastAPI = create_app(hive)
        with TestClient(app) as http:
            response = http.post("/oauth/token", data=grant)
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert "server key" in response.json()["detail"]
        assert hive.store.oauth.signing_keys() == []
        service.close()


def _race(make_hive: Callable[[], KeyHive], nodes: int) -> tuple[set[str], list[int]]:
    """``nodes`` hives on one database rotate at the same moment; the kids they sign with."""
    hives = [make_hive() for _ in range(nodes)]
    services = [OAuthService(h, watch=False) for h in hives]
    services[0].signing.current()  # generation 1, then everyone finds it due at once
    clock = hives[0].clock
    assert isinstance(clock, FrozenClock)
    clock.advance(services[0].config.rotation)
    barrier = threading.Barrier(nodes)
    kids: list[str] = []

    def rotate(service: OAuthService) -> None:
        barrier.wait()
        kids.append(service.signing.current().kid)

    threads = [threading.Thread(target=rotate, args=(s,)) for s in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    generations = [r.generation for r in hives[0].store.oauth.signing_keys()]
    for s, h in zip(services, hives, strict=True):
        s.close()
        h.close()
    return set(kids), generations


def test_racing_nodes_make_one_new_key_on_sqlite(tmp_path: Path) -> None:
    clock = FrozenClock()
    url = f"sqlite:///{tmp_path / 'keyhive.db'}"
    KeyHive(url, settings=oauth_settings(), clock=clock).close()
    kids, generations = _race(lambda: KeyHive(url, settings=oauth_settings(), clock=clock), 4)
    assert len(kids) == 1
    assert generations == [2, 1]


def test_racing_nodes_make_one_new_key_on_postgres(pg_url: str) -> None:
    clock = FrozenClock()
    KeyHive(pg_url, settings=oauth_settings(), clock=clock).close()
    kids, generations = _race(lambda: KeyHive(pg_url, settings=oauth_settings(), clock=clock), 6)
    assert len(kids) == 1
    assert generations == [2, 1]


def test_rotation_is_audited_without_key_material(clock: FrozenClock) -> None:
    with KeyHive("memory://", settings=oauth_settings(), clock=clock) as hive:
        service = OAuthService(hive, watch=False)
        first = service.rotate(actor="cli:ops")
        second = service.rotate(actor="cli:ops")
        events = [e for e in hive.audit() if e.action == "oauth.key.create"]
        assert [e.target_id for e in events] == [first.kid, second.kid]
        assert events[1].before is not None and events[1].before["kid"] == first.kid
        assert all(e.actor == "cli:ops" for e in events)
        for event in events:
            assert first.private_sealed not in json.dumps(event.to_dict())
        service.close()


def test_bad_oauth_settings_fail_at_startup() -> None:
    from keyhive.core.errors import ConfigurationError

    env = {"KEYHIVE_DATABASE_URL": "memory://", "KEYHIVE_HASHING_PROFILE": "cheapest"}
    for name, value in (
        ("KEYHIVE_OAUTH_ALG", "HS256"),
        ("KEYHIVE_OAUTH_ISSUER", "not a url"),
        ("KEYHIVE_OAUTH_AUDIENCE", "/relative"),
        ("KEYHIVE_OAUTH_TOKEN_LIFETIME", "5s"),
        ("KEYHIVE_OAUTH_KEY_ROTATION", "soon"),
    ):
        with pytest.raises(ConfigurationError, match=name):
            settings = Settings.from_env({**env, name: value})
            with KeyHive(settings=settings) as hive:
                create_app(hive)
