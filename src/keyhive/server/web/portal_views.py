"""What each portal page shows: plain functions from the facade to template values.

They run in the thread pool and raise the facade's errors (an id that is not the
owner's is NotFound); the portal turns those into readable pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from keyhive.core.model import Client, Secret
from keyhive.core.portal import PortalSession, grantable
from keyhive.service.hive import KeyHive
from keyhive.service.portal import counts_as_active

#: The expiry choices of "Create key" (value for the facade, label); any duration posts.
EXPIRIES: Final = (
    ("", "Never"),
    ("30d", "In 30 days"),
    ("90d", "In 90 days"),
    ("365d", "In a year"),
)
#: The grace periods of "Rotate" (at most 7 days: the facade's portal rule).
GRACES: Final = (
    ("0s", "End the old key now"),
    ("1h", "1 hour"),
    ("24h", "24 hours"),
    ("7d", "7 days"),
)
_WEEK: Final = 7 * 24


@dataclass(frozen=True, slots=True)
class KeyRow:
    """One key in the list, with its 7-day trend."""

    secret: Secret
    trend: list[int]
    manageable: bool

    @property
    def total(self) -> int:
        return sum(self.trend)


@dataclass(frozen=True, slots=True)
class ClientKeys:
    client: Client
    keys: list[KeyRow]


def home(hive: KeyHive, customer: PortalSession) -> dict[str, Any]:
    now = hive.clock.now()
    groups: list[ClientKeys] = []
    active = 0
    for client, secrets in hive.portal_keys(customer):
        used = hive.secrets_usage(client.client_id, "7d", "hour")
        rows = [
            KeyRow(
                secret,
                used[secret.secret_id].per_bucket() if secret.secret_id in used else [0] * _WEEK,
                grantable(secret.scopes, customer.allowed_scopes),
            )
            for secret in reversed(secrets)  # newest first
        ]
        active += sum(1 for secret in secrets if counts_as_active(secret, now))
        groups.append(ClientKeys(client, rows))
    return {
        "groups": groups,
        "active": active,
        "limit": customer.max_secrets,
        "allowed": customer.allowed_scopes,
        "expiries": EXPIRIES,
        "form": {},
        "chosen": [customer.allowed_scopes[0]] if len(customer.allowed_scopes) == 1 else [],
        "issued": None,
    }


def key(hive: KeyHive, customer: PortalSession, secret_id: str) -> dict[str, Any]:
    secret = hive.portal_secret(customer, secret_id)
    now = hive.clock.now()
    return {
        "secret": secret,
        "client": hive.get_client(secret.client_id),
        "revoked": secret.is_revoked(now),
        "manageable": grantable(secret.scopes, customer.allowed_scopes),
        "usage": hive.usage(secret.secret_id, "7d", "hour"),
        "graces": GRACES,
        "issued": None,
    }
