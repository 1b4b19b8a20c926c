"""Part (h): OAuth access tokens (JWTs) checked locally, beside an API-key cache hit
(issue 16). In process, one thread, all rows in alternating rounds of one run.

The hive has a durable server key and an issuer and audience, as ``KEYHIVE_PEPPERS``
and ``KEYHIVE_OAUTH_*`` give it; tokens come from its own token endpoint logic
(``OAuthService.token``, client credentials with the API key as the client secret).
Rows, each for a route that needs ``articles:read``:

- the hive's pipeline, ``hive.verify(credential)``: an API key (cache hit), the same
  access token again (its checked signature remembered), a new token each call (the
  signature is checked);
- the same through an integration's check (:func:`keyhive.integrations._gate.check`,
  what every adapter runs: header parsing, verdict, principal) with a local hive;
- a resource server that knows only the JWKS URL (``AccessTokenVerifier.from_jwks_url``
  behind ``TokenVerifier``), the key set fetched once over HTTP from a local server and
  then cached.
"""

from __future__ import annotations

import contextlib
import functools
import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from benchmarks._inproc import PEPPERS
from benchmarks.peers._common import time_sync
from keyhive import KeyHive
from keyhive.core.settings import Settings

ISSUER: Final = "https://keyhive.bench"
AUDIENCE: Final = "https://api.bench"
SCOPES: Final = ("articles:read",)
ROUNDS: Final = 3


@contextlib.contextmanager
def _jwks_server(document: dict[str, Any]) -> Iterator[str]:
    """Serve ``document`` at /.well-known/jwks.json on a loopback port; yields its URL."""
    body = json.dumps(document).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _per_call(calls: list[Callable[[], object]]) -> float:
    """Calls per second over a list of distinct calls, each made once."""
    start = time.perf_counter()
    for call in calls:
        call()
    return len(calls) / (time.perf_counter() - start)


def run(notes: list[str], *, quick: bool = False) -> dict[str, Any]:
    """Part (h): the rows above, ``ROUNDS`` alternating rounds; ops/s medians."""
    from keyhive.integrations import Principal
    from keyhive.integrations._gate import check
    from keyhive.integrations._verifier import LocalVerifier
    from keyhive.integrations.tokens import TokenVerifier
    from keyhive.service.oauth import AccessTokenVerifier, OAuthService

    seconds = 0.3 if quick else 1.0
    fresh = 100 if quick else 1_000  # new tokens per round for each "new token" row
    settings = Settings(peppers=PEPPERS, oauth_issuer=ISSUER, oauth_audience=AUDIENCE)
    with KeyHive("memory://", settings=settings) as hive:
        client = hive.create_client("access tokens")
        key = hive.issue_secret(client.client_id, scopes=list(SCOPES)).token
        oauth = OAuthService.for_hive(hive)

        def new_token() -> str:
            return oauth.token(
                grant_type="client_credentials", client_id=client.client_id, client_secret=key
            ).access_token

        jwt = new_token()
        local = LocalVerifier(hive)
        for credential in (key, jwt):
            assert hive.verify(credential, SCOPES).valid
        with _jwks_server(oauth.jwks()) as url:
            remote = TokenVerifier(
                AccessTokenVerifier.from_jwks_url(url, issuer=ISSUER, audience=AUDIENCE)
            )
            for verifier in (local, remote):
                found = check(verifier, f"Bearer {jwt}", None, SCOPES)
                assert isinstance(found, Principal), found
            repeat: dict[str, Callable[[], object]] = {
                "pipeline, API key (cache hit)": functools.partial(hive.verify, key, SCOPES),
                "pipeline, access token seen before": functools.partial(hive.verify, jwt, SCOPES),
                "integration check, API key (cache hit)": functools.partial(
                    check, local, f"Bearer {key}", None, SCOPES
                ),
                "integration check, access token seen before": functools.partial(
                    check, local, f"Bearer {jwt}", None, SCOPES
                ),
                "JWKS URL only, access token seen before": functools.partial(
                    check, remote, f"Bearer {jwt}", None, SCOPES
                ),
            }
            first: dict[str, Callable[[str], object]] = {
                "pipeline, new access token each call": lambda t: hive.verify(t, SCOPES),
                "integration check, new access token each call": lambda t: check(
                    local, f"Bearer {t}", None, SCOPES
                ),
                "JWKS URL only, new access token each call": lambda t: check(
                    remote, f"Bearer {t}", None, SCOPES
                ),
            }
            rates: dict[str, list[float]] = {name: [] for name in [*repeat, *first]}
            for _ in range(ROUNDS):
                for name, call in repeat.items():
                    rates[name] += time_sync(call, seconds, 1)["rounds"]
                for name, verify in first.items():
                    tokens = [new_token() for _ in range(fresh)]
                    rates[name].append(_per_call([functools.partial(verify, t) for t in tokens]))
    rows = [
        {
            "name": name,
            "ops_per_sec": statistics.median(values),
            "us": 1e6 / statistics.median(values),
            "rounds": values,
        }
        for name, values in rates.items()
    ]
    return {"rows": rows, "fresh_tokens_per_round": fresh, "rounds": ROUNDS}
