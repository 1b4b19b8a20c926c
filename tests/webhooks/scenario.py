"""One change of each kind that makes a webhook event, in a known order.

Shared by the delivery tests on memory, SQLite and PostgreSQL, and by the scan of
payloads for secrets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from keyhive import Code, FrozenClock, KeyHive
from keyhive.core.leaks import Leak
from keyhive.service.webhook_sender import WebhookSender

#: The event types the scenario causes, in the order of its changes.
EXPECTED = [
    "secret.issued",
    "secret.issued",
    "ratelimit.exceeded",
    "credits.low",
    "secret.rotated",
    "secret.issued",
    "secret.revoked",
    "secret.revoked",
    "secret.leaked",
    "client.disabled",
    "client.enabled",
    "secret.issued",
    "secret.expiring",
    "secret.expired",
]


@dataclass
class Played:
    tokens: list[str] = field(default_factory=list)
    secret_ids: list[str] = field(default_factory=list)
    client_id: str = ""


def play(hive: KeyHive, sender: WebhookSender, clock: FrozenClock) -> Played:
    """Make the changes, stepping the sender between them as ``keyhive serve`` would."""
    played = Played()
    sender.step()  # the first expiry scan: nothing expires yet
    client = hive.create_client("acme", owner="team-7")
    played.client_id = client.client_id
    limited = hive.issue_secret(client.client_id, scopes=["a:read"], rate="1/minute")
    metered = hive.issue_secret(client.client_id, scopes=["a:read"], credits=2)
    played.tokens += [limited.token, metered.token]
    assert hive.verify(limited.token).valid
    assert hive.verify(limited.token).code is Code.RATE_LIMITED
    assert hive.verify(metered.token).valid
    assert hive.verify(metered.token).remaining == 0
    hive.flush()  # what the signal buffer's thread does every few seconds
    successor = hive.rotate(limited.secret_id)
    played.tokens.append(successor.token)
    hive.revoke(successor.secret_id, reason="done")
    hive.revoke_leaked([Leak(metered.token, "https://example.com/leak")])
    hive.disable_client(client.client_id)
    hive.enable_client(client.client_id)
    brief = hive.issue_secret(client.client_id, scopes=["a:read"], expires_in="2m")
    played.tokens.append(brief.token)
    played.secret_ids = [limited.secret_id, metered.secret_id, successor.secret_id]
    played.secret_ids.append(brief.secret_id)
    sender.step()
    clock.advance(timedelta(seconds=61))
    sender.step()  # the scan: secret.expiring for the brief secret
    clock.advance(timedelta(minutes=2))
    sender.step()  # the scan: secret.expired
    return played
