"""POST /v1/leaks with reports signed by a key pair made here, as GitHub would sign them:
active tokens revoked within the request, feedback in GitHub's format, forged or unsigned
reports refused, and no token in the answer, the log or the audit."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from keyhive import FrozenClock, KeyHive, Settings
from keyhive.core.tokens import checksum, parse_token
from keyhive.server import create_app
from tests.bulk import issue_many

from .helpers import assert_problem

pytestmark = pytest.mark.anyio
KEY_ID = "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c"


class Signer:
    """GitHub's side: a P-256 key pair, its public_keys document, and signed requests."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())

    def pem(self) -> str:
        public = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return public.decode()

    def document(self, key_id: str = KEY_ID) -> dict[str, Any]:
        return {"public_keys": [{"key_identifier": key_id, "key": self.pem(), "is_current": True}]}

    def sign(self, body: bytes) -> str:
        return base64.b64encode(self.key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()

    def headers(self, body: bytes, key_id: str = KEY_ID) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "Github-Public-Key-Identifier": key_id,
            "Github-Public-Key-Signature": self.sign(body),
        }


def report(*tokens: str, url: str = "https://github.com/octo/repo/blob/abc/.env") -> bytes:
    items = [{"token": t, "type": "keyhive_token", "url": url, "source": "content"} for t in tokens]
    return json.dumps(items).encode()


def forged(token: str) -> str:
    body = token[:-7] + ("x" if token[-7] != "x" else "y")
    return body + checksum(body)


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
def keys_file(tmp_path: Path, signer: Signer) -> Path:
    path = tmp_path / "github-keys.json"
    path.write_text(json.dumps(signer.document()))
    return path


@pytest.fixture
def leak_hive(clock: FrozenClock, keys_file: Path, db_url: str) -> Iterator[KeyHive]:
    settings = Settings(hashing_profile="cheapest", leak_keys_file=str(keys_file))
    hive = KeyHive(db_url, settings=settings, clock=clock)
    yield hive
    hive.close()


@pytest.fixture
async def github(leak_hive: KeyHive) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(leak_hive))
    async with httpx.AsyncClient(transport=transport, base_url="http://keyhive.test") as c:
        yield c


async def post(client: httpx.AsyncClient, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/v1/leaks", content=body, headers=headers)


async def test_a_signed_report_revokes_the_active_tokens_within_the_request(
    github: httpx.AsyncClient, leak_hive: KeyHive, signer: Signer
) -> None:
    client = leak_hive.create_client("acme")
    active = leak_hive.issue_secret(client.client_id)
    revoked = leak_hive.issue_secret(client.client_id)
    leak_hive.revoke(revoked.secret_id, reason="old")
    innocent = leak_hive.issue_secret(client.client_id)
    body = report(active.token, revoked.token, forged(innocent.token), "not a token at all")
    response = await post(github, body, signer.headers(body))
    assert response.status_code == 200, response.text
    assert response.json() == [
        {
            "token_hash": hashlib.sha256(t.encode()).hexdigest(),
            "token_type": "keyhive_token",
            "label": label,
        }
        for t, label in [
            (active.token, "true_positive"),
            (revoked.token, "true_positive"),
            (forged(innocent.token), "false_positive"),
            ("not a token at all", "false_positive"),
        ]
    ]
    secret = leak_hive.get_secret(active.secret_id)
    assert secret.revoked_at == leak_hive.clock.now()
    assert secret.revoked_reason == "https://github.com/octo/repo/blob/abc/.env"
    assert leak_hive.verify(active.token).code.value == "REVOKED"
    assert leak_hive.get_secret(revoked.secret_id).revoked_reason == "old"
    assert leak_hive.get_secret(innocent.secret_id).revoked_at is None
    [event] = leak_hive.audit(target_id=active.secret_id)[-1:]
    assert (event.action, event.actor) == ("secret.revoke", "github secret scanning")
    assert leak_hive.verify_audit().ok


async def test_no_token_in_the_answer_the_log_or_the_audit(
    github: httpx.AsyncClient,
    leak_hive: KeyHive,
    signer: Signer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = leak_hive.create_client("acme")
    tokens = [leak_hive.issue_secret(client.client_id).token for _ in range(3)]
    caplog.set_level(logging.DEBUG)
    body = report(*tokens, url=f"https://gist.github.com/x?t={tokens[0]}")
    response = await post(github, body, signer.headers(body))
    assert response.status_code == 200
    bad = await post(github, body, {**signer.headers(body), "Github-Public-Key-Signature": "AA=="})
    assert bad.status_code == 401
    audit = json.dumps([e.to_dict() for e in leak_hive.audit(limit=1000)])
    for token in tokens:
        random = token.rsplit("_", 1)[1][:12]
        for place in (response.text, bad.text, caplog.text, audit):
            assert token not in place and random not in place
    assert "leak report: 3 match(es), 3 secret(s) revoked" in caplog.text


async def test_a_thousand_tokens_are_revoked_in_one_request(
    github: httpx.AsyncClient, leak_hive: KeyHive, signer: Signer
) -> None:
    client = leak_hive.create_client("acme")
    tokens = issue_many(leak_hive, client.client_id, 1000)
    body = report(*tokens)
    assert len(body) > 64 * 1024, "more than the service's usual body limit"
    response = await post(github, body, signer.headers(body))
    assert response.status_code == 200, response.text
    assert [f["label"] for f in response.json()] == ["true_positive"] * 1000
    ids = [parse_token(t).secret_id for t in tokens]
    assert all(s.secret.revoked_at is not None for s in leak_hive.store.get_secrets(ids))
    assert leak_hive.verify_audit().verified == leak_hive.store.last_audit_id()


async def test_a_bad_signature_is_401_and_revokes_nothing(
    github: httpx.AsyncClient, leak_hive: KeyHive, signer: Signer
) -> None:
    client = leak_hive.create_client("acme")
    issued = leak_hive.issue_secret(client.client_id)
    body = report(issued.token)
    other = Signer()
    cases = [
        {},  # no headers at all
        {"Github-Public-Key-Identifier": KEY_ID},
        {"Github-Public-Key-Signature": signer.sign(body)},
        signer.headers(body, key_id="unknown-key"),
        {**signer.headers(body), "Github-Public-Key-Signature": other.sign(body)},
        {**signer.headers(body), "Github-Public-Key-Signature": "not base64!"},
        {**signer.headers(body), "Github-Public-Key-Signature": base64.b64encode(b"junk").decode()},
        {**signer.headers(body), "Github-Public-Key-Signature": "A" * 5000},
        signer.headers(body + b" "),  # signed over another body
    ]
    for headers in cases:
        response = await post(github, body, headers)
        problem = assert_problem(response, 401)
        assert problem["type"] == "urn:keyhive:problem:bad-signature"
    assert leak_hive.get_secret(issued.secret_id).revoked_at is None


async def test_the_signature_covers_the_raw_bytes(
    github: httpx.AsyncClient, leak_hive: KeyHive, signer: Signer
) -> None:
    """Re-serialising the JSON (spacing, key order) would break it; keyhive does not."""
    client = leak_hive.create_client("acme")
    issued = leak_hive.issue_secret(client.client_id)
    text = '[ {"url":"", "source":"commit",\n  "token":"TOKEN",  "type":"t"} ]'
    body = text.replace("TOKEN", issued.token).encode()
    response = await post(github, body, signer.headers(body))
    assert response.status_code == 200, response.text
    assert response.json()[0]["label"] == "true_positive"
    assert leak_hive.get_secret(issued.secret_id).revoked_reason == "leaked: reported by GitHub"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"[", 400),
        (b"\xff\xfe", 400),
        (b"[" * 100_000 + b"]" * 100_000, 400),
        (b'{"token": "x"}', 422),
        (b'[{"type": "x"}]', 422),
        (b'[{"token": 5}]', 422),
        (b'["kh_x"]', 422),
    ],
    ids=["truncated", "not-utf8", "deep", "object", "no-token", "number", "string-items"],
)
async def test_a_signed_body_of_the_wrong_shape_is_a_clear_4xx(
    github: httpx.AsyncClient, signer: Signer, body: bytes, status: int
) -> None:
    response = await post(github, body, signer.headers(body))
    assert_problem(response, status)


async def test_too_many_matches_or_too_large_a_body_is_refused(
    github: httpx.AsyncClient, signer: Signer
) -> None:
    many = json.dumps([{"token": "x"}] * 10_001).encode()
    assert_problem(await post(github, many, signer.headers(many)), 422)
    huge = b"[" + b" " * (4 * 1024 * 1024) + b"]"
    assert_problem(await post(github, huge, signer.headers(huge)), 413)


async def test_an_empty_report_is_an_empty_answer(
    github: httpx.AsyncClient, signer: Signer
) -> None:
    response = await post(github, b"[]", signer.headers(b"[]"))
    assert response.status_code == 200 and response.json() == []


async def test_without_a_keys_file_the_endpoint_is_503(
    client: httpx.AsyncClient, signer: Signer
) -> None:
    body = report("kh_x")
    problem = assert_problem(await post(client, body, signer.headers(body)), 503)
    assert "KEYHIVE_LEAK_KEYS_FILE" in str(problem["detail"])


async def test_an_unusable_keys_file_is_503(
    github: httpx.AsyncClient, keys_file: Path, signer: Signer
) -> None:
    body = report("kh_x")
    for content in ["not json", '{"keys": []}', json.dumps({"public_keys": [{"key": "x"}]})]:
        keys_file.write_text(content)
        assert_problem(await post(github, body, signer.headers(body)), 503)
    keys_file.unlink()
    assert_problem(await post(github, body, signer.headers(body)), 503)


async def test_a_new_keys_file_applies_without_a_restart(
    github: httpx.AsyncClient, keys_file: Path, signer: Signer
) -> None:
    rotated = Signer()
    body = report("kh_x")
    assert (await post(github, body, rotated.headers(body, key_id="k2"))).status_code == 401
    ed = ed25519.Ed25519PrivateKey.generate().public_key()
    ed_pem = ed.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    keys = signer.document()["public_keys"] + rotated.document("k2")["public_keys"]
    keys.append({"key_identifier": "ed", "key": ed_pem, "is_current": False})
    keys_file.write_text(json.dumps({"public_keys": keys}))
    assert (await post(github, body, rotated.headers(body, key_id="k2"))).status_code == 200
    assert (await post(github, body, signer.headers(body))).status_code == 200


async def test_the_endpoint_is_in_the_openapi_document(github: httpx.AsyncClient) -> None:
    doc = (await github.get("/openapi.json")).json()
    operation = doc["paths"]["/v1/leaks"]["post"]
    assert {"200", "400", "401", "413", "422", "503"} <= set(operation["responses"])
    names = {p["name"] for p in operation["parameters"]}
    assert names == {"Github-Public-Key-Identifier", "Github-Public-Key-Signature"}
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["type"] == "array" and "token" in schema["items"]["properties"]
    item = doc["components"]["schemas"]["LeakFeedback"]["properties"]
    assert set(item) == {"token_hash", "token_type", "label"}
