"""Property-based tests of the whole HTTP API against its own OpenAPI document.

Schemathesis generates valid and invalid requests for every operation (25 examples
each). Every answer must be documented (status, content type, body schema) and none
may be a 5xx. Requests carry an admin token; operations on a client or secret are
sent twice, once with the generated id and once with a real one (a client id with
'/' in it), so the authorized paths behind the 404s are explored too.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from keyhive import KeyHive, Settings
from keyhive.core.model import AuditEvent

from .helpers import bearer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
_counter = itertools.count()


OPERATIONS = [
    ("POST", "/v1/verify"),
    *(
        (method, "/v1/auth")
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    ),
    ("GET", "/v1/clients"),
    ("POST", "/v1/clients"),
    ("GET", "/v1/clients/{client_id}/secrets"),
    ("POST", "/v1/clients/{client_id}/secrets"),
    ("POST", "/v1/clients/{client_id}/disable"),
    ("POST", "/v1/clients/{client_id}/enable"),
    ("GET", "/v1/clients/{client_id}"),
    ("PATCH", "/v1/clients/{client_id}"),
    ("GET", "/v1/secrets/{secret_id}"),
    ("PATCH", "/v1/secrets/{secret_id}"),
    ("POST", "/v1/secrets/{secret_id}/revoke"),
    ("POST", "/v1/secrets/{secret_id}/rotate"),
    ("GET", "/v1/audit"),
    ("GET", "/v1/audit/head"),
    ("POST", "/v1/leaks"),
    ("POST", "/v1/portal/sessions"),
    ("GET", "/v1/secrets/{secret_id}/usage"),
    ("GET", "/v1/clients/{client_id}/usage"),
    ("GET", "/v1/webhooks"),
    ("POST", "/v1/webhooks"),
    ("GET", "/v1/webhooks/{webhook_id}"),
    ("DELETE", "/v1/webhooks/{webhook_id}"),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"),
    ("POST", "/v1/webhooks/{webhook_id}/test"),
    ("GET", "/v1/owners/{owner}"),
    ("PUT", "/v1/owners/{owner}"),
    ("GET", "/v1/roles"),
    ("POST", "/v1/roles"),
    ("GET", "/v1/roles/{name}"),
    ("PATCH", "/v1/roles/{name}"),
    ("DELETE", "/v1/roles/{name}"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/oauth/token"),
    ("POST", "/oauth/introspect"),
    ("POST", "/oauth/revoke"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/.well-known/oauth-authorization-server"),
]


@pytest.fixture(name="settings")
def leak_settings(tmp_path: Path) -> Settings:
    """Leak reports configured with a key no request is signed with: /v1/leaks is reachable
    (401 for the unsigned, 4xx for the rest) instead of 503 for being switched off."""
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    keys = tmp_path / "github-keys.json"
    keys.write_text(json.dumps({"public_keys": [{"key_identifier": "k", "key": pem}]}))
    return Settings(hashing_profile="cheapest", leak_keys_file=str(keys))


def test_every_operation_is_fuzzed(app: FastAPI) -> None:
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    labels = {tuple(r.ok().label.split(" ", 1)) for r in api.get_all_operations()}
    assert labels == set(OPERATIONS)


# Schemathesis' own pytest plugin does not run under pytest 9, so each operation's
# strategy is driven by hypothesis directly.
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_operation_conforms_to_the_schema(
    app: FastAPI, hive: KeyHive, admin_token: str, method: str, path: str
) -> None:
    # Webhook hosts resolve to loopback: refused (422), and no name is looked up outside
    # (set before the app's lifespan starts its webhook sender).
    hive.webhook_resolver = lambda host, port: ["127.0.0.1"]
    operation = schemathesis.openapi.from_asgi("/openapi.json", app)[path][method]
    headers = bearer(admin_token)

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)
        params = dict(case.path_parameters or {})
        if not params:
            return
        owner = hive.create_client("fuzzed", client_id=f"fz/{next(_counter)}+a=")
        secret = hive.issue_secret(owner.client_id, scopes=["a:read"])
        hook = _webhook(hive)
        role = f"fuzzed-{next(_counter)}"
        hive.create_role(role, scopes=["a:read"])
        real = {
            "client_id": owner.client_id,
            "secret_id": secret.secret_id,
            "webhook_id": hook,
            "owner": "fuzzed-owner",
            "name": role,
        }
        case.path_parameters = {name: real.get(name, value) for name, value in params.items()}
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def _webhook(hive: KeyHive) -> str:
    """A real endpoint (stored directly: its target is never contacted, no sender runs)."""
    from keyhive.core.webhooks import Webhook, new_webhook_id
    from keyhive.storage.webhooks import WebhookRecord

    now = hive.clock.now()
    hook = Webhook(new_webhook_id(), "https://hooks.invalid/", ("*",), None, True, now)
    event = AuditEvent(None, now, "fuzz", "webhook.create", "webhook", hook.webhook_id)
    hive.store.webhooks.add(WebhookRecord(hook, "v1.unused", "none"), event)
    return hook.webhook_id
