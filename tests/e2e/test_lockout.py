"""Nobody who knows a public id can lock its holder out, even right after a restart.

Against a real ``keyhive serve`` that has just restarted (nothing cached): a burst of
wrong tokens carrying a victim's secret id (a good checksum, a wrong random part), then
the victim's own token passes at once. The same for the ``keyhive:verify`` caller of
``/v1/verify``, for the admin token on the admin API, and for many random ids sent from
one forwarded address.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from keyhive import KeyHive, Settings
from keyhive.core.tokens import make_token
from tests.e2e.serve import KeyhiveServe

pytestmark = pytest.mark.slow
GUESSES = 30


@pytest.fixture
def hive(tmp_path: Path) -> Iterator[KeyHive]:
    url = f"sqlite:///{tmp_path / 'keyhive.db'}"
    with KeyHive(url, settings=Settings(hashing_profile="cheapest"), watch_changes=False) as h:
        yield h


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _wrong(secret_id: str) -> str:
    """A well-formed token with the victim's id and checksum-valid garbage."""
    return make_token(secret_id=secret_id).text


def _burst(send: object, count: int = GUESSES) -> list[int]:
    with ThreadPoolExecutor(10) as pool:
        return list(pool.map(send, range(count)))  # type: ignore[arg-type]


def test_guesses_at_a_secret_id_after_a_restart_do_not_lock_its_holder_out(
    hive: KeyHive,
) -> None:
    admin = hive.bootstrap_admin()
    assert admin is not None
    client = hive.create_client("victims")
    victim = hive.issue_secret(client.client_id, scopes=["a:read"])
    caller = hive.issue_secret(client.client_id, scopes=["keyhive:verify"])
    with KeyhiveServe(hive.settings.database_url) as server, httpx.Client(timeout=30) as http:
        base = server.base
        assert http.get(f"{base}/v1/auth", headers=_bearer(victim.token)).status_code == 200
        server.restart()  # forget everything: the first sight of each token is uncached

        def guess_auth(_: int) -> int:
            wrong = _wrong(victim.secret_id)
            return http.get(f"{base}/v1/auth", headers=_bearer(wrong)).status_code

        assert set(_burst(guess_auth)) == {401}
        assert http.get(f"{base}/v1/auth", headers=_bearer(victim.token)).status_code == 200

        body = {"token": victim.token}

        def guess_caller(_: int) -> int:
            wrong = _wrong(caller.secret_id)
            return http.post(f"{base}/v1/verify", json=body, headers=_bearer(wrong)).status_code

        assert set(_burst(guess_caller)) == {401}
        answer = http.post(f"{base}/v1/verify", json=body, headers=_bearer(caller.token))
        assert answer.status_code == 200
        assert answer.json()["valid"] is True

        def guess_admin(_: int) -> int:
            wrong = _wrong(admin.secret_id)
            return http.get(f"{base}/v1/clients", headers=_bearer(wrong)).status_code

        assert set(_burst(guess_admin)) == {401}
        assert http.get(f"{base}/v1/clients", headers=_bearer(admin.token)).status_code == 200


def test_failures_from_one_address_do_not_lock_out_the_next_caller_there(hive: KeyHive) -> None:
    client = hive.create_client("behind-a-nat")
    neighbour = hive.issue_secret(client.client_id, scopes=["a:read"])
    # Loopback is a trusted proxy by default, so X-Real-IP names the caller.
    shared = {"X-Real-IP": "203.0.113.9"}
    with KeyhiveServe(hive.settings.database_url) as server, httpx.Client(timeout=30) as http:

        def random_id(_: int) -> int:
            wrong = make_token().text  # a random id nobody holds
            answer = http.get(f"{server.base}/v1/auth", headers={**shared, **_bearer(wrong)})
            return answer.status_code

        answers = _burst(random_id)
        assert set(answers) == {401}
        mine = http.get(f"{server.base}/v1/auth", headers={**shared, **_bearer(neighbour.token)})
        assert mine.status_code == 200, "a correct token from a noisy address passes at once"
        late = http.get(f"{server.base}/v1/auth", headers={**shared, **_bearer(make_token().text)})
        assert late.status_code == 401
        assert "retry-after" in late.headers, "while the guesses from there stay slowed down"
