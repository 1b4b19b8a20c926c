"""Protect an API with keyhive in a few lines: FastAPI, Starlette, Flask, Django and DRF.

Each framework lives in its own module (``keyhive.integrations.fastapi`` and so on) and is
imported only there; this package holds what they share and needs none of them.
"""

from keyhive.integrations._principal import Principal, Verdict
from keyhive.integrations._rfc6750 import Denial, challenge, deny
from keyhive.integrations._verifier import (
    AsyncLocalVerifier,
    AsyncVerifier,
    LocalVerifier,
    Verifier,
    VerifierUnavailable,
)

__all__ = [
    "AsyncLocalVerifier",
    "AsyncVerifier",
    "Denial",
    "LocalVerifier",
    "Principal",
    "Verdict",
    "Verifier",
    "VerifierUnavailable",
    "challenge",
    "deny",
]
