"""The exception tree.

Every error keyhive raises on purpose derives from :class:`KeyhiveError`, so a caller
can catch one name. Messages never contain a secret: where the input was a secret,
the message names the field, not the value.
"""

from __future__ import annotations


class KeyhiveError(Exception):
    """Base of every error keyhive raises on purpose."""


class InvalidInput(KeyhiveError, ValueError):
    """An argument has the wrong type, shape or size; ``field`` names the argument."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class MalformedToken(InvalidInput):
    """A secret token fails the format or its checksum (found before any storage access)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"malformed token: {reason}", field="token")
        self.reason = reason


class BadRecord(InvalidInput):
    """One record of a batch is invalid; ``index`` (from 0) says which. Nothing was written."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"record {index + 1}: {reason}", field="records")
        self.index = index
        self.reason = reason


class InvalidScope(InvalidInput):
    """A scope string is not ``resource:action``, ``resource:*`` or ``*``."""


class InvalidDuration(InvalidInput):
    """A duration such as ``90d`` or ``24h`` could not be read."""


class NotFound(KeyhiveError, LookupError):
    """An admin operation named a client or secret that does not exist.

    The message repeats the id only if it has the shape of one (a token pasted in its
    place is not repeated); ``ident`` keeps what was given.
    """

    def __init__(self, kind: str, ident: str) -> None:
        from keyhive.core.echo import shown_id  # echo -> tokens -> errors

        super().__init__(f"{kind} not found: {shown_id(kind, ident)}")
        self.kind = kind
        self.ident = ident


class ClientNotFound(NotFound):
    """No client has this client_id."""

    def __init__(self, client_id: str) -> None:
        super().__init__("client", client_id)


class SecretNotFound(NotFound):
    """No secret has this secret_id."""

    def __init__(self, secret_id: str) -> None:
        super().__init__("secret", secret_id)


class Conflict(KeyhiveError):
    """The change contradicts the current state (e.g. rotating a revoked secret)."""


class IdTaken(Conflict):
    """A store refused an insert because the id exists (the facade retries a fresh id)."""


class LastAdmin(Conflict):
    """The change would leave no active admin secret (refused over HTTP)."""


class HashError(KeyhiveError):
    """Base of hashing errors."""


class VerifyMismatch(HashError):
    """The presented secret does not match the stored hash string."""


class UnknownHashFormat(HashError):
    """No configured hasher reads this stored string (e.g. an hmac pepper that is gone)."""


class ConfigurationError(KeyhiveError):
    """A setting is missing or inconsistent (bad URL, unknown hasher, no pepper)."""


class StorageUnavailable(KeyhiveError):
    """The database could not be reached; admin writes fail closed."""
