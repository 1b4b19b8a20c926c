"""keyhive: issue, store and verify API keys and secrets.

>>> from keyhive import KeyHive
>>> hive = KeyHive("sqlite:///./keyhive.db")
>>> client = hive.create_client("reporting")
>>> issued = hive.issue_secret(client.client_id, scopes=["articles:read"])
>>> hive.verify(issued.token, ["articles:read"]).valid
True
"""

from keyhive.core.clock import Clock, FrozenClock, SystemClock
from keyhive.core.errors import (
    BadRecord,
    ClientNotFound,
    ConfigurationError,
    Conflict,
    HashError,
    InvalidDuration,
    InvalidInput,
    InvalidScope,
    KeyhiveError,
    MalformedToken,
    NotFound,
    SecretNotFound,
    StorageUnavailable,
    UnknownHashFormat,
    VerifyMismatch,
)
from keyhive.core.model import AuditEvent, Client, Code, Issued, Secret, SeedImport, Verification
from keyhive.core.portal import PortalLink, PortalSession
from keyhive.core.scopes import allows
from keyhive.core.settings import Settings
from keyhive.core.tokens import TOKEN_PATTERN, generate_key, make_token, parse_token
from keyhive.service.hive import KeyHive
from keyhive.service.hive_async import AsyncKeyHive

__all__ = [
    "TOKEN_PATTERN",
    "AsyncKeyHive",
    "AuditEvent",
    "BadRecord",
    "Client",
    "ClientNotFound",
    "Clock",
    "Code",
    "ConfigurationError",
    "Conflict",
    "FrozenClock",
    "HashError",
    "InvalidDuration",
    "InvalidInput",
    "InvalidScope",
    "Issued",
    "KeyHive",
    "KeyhiveError",
    "MalformedToken",
    "NotFound",
    "PortalLink",
    "PortalSession",
    "Secret",
    "SecretNotFound",
    "SeedImport",
    "Settings",
    "StorageUnavailable",
    "SystemClock",
    "UnknownHashFormat",
    "Verification",
    "VerifyMismatch",
    "allows",
    "generate_key",
    "make_token",
    "parse_token",
]
