"""The facade's verification calls: thin over the pipeline (service/pipeline.py)."""

from __future__ import annotations

from collections.abc import Sequence

from keyhive.core.credentials import Credential, PairCredential
from keyhive.core.model import Verification
from keyhive.service._base import HiveBase


class Verifying(HiveBase):
    """``verify``, ``verify_pair``, ``verify_credential`` and ``verify_cached``."""

    def verify(
        self, token: str, scopes: Sequence[str] = (), *, ip: str | None = None, cost: int = 1
    ) -> Verification:
        """Check a secret token and the scopes a request needs; never raises on bad input.

        A credential seen before is answered from memory (microseconds); a malformed
        token is answered NOT_FOUND before any storage access; a wrong guess costs a
        keyed digest, never a slow hash. ``cost`` (0 to 1,000,000; 1 by default) is
        what the request spends from the secret's and its owner's rate limits and
        credits; a cost that is not such a number answers NOT_FOUND.
        """
        return self.pipeline.verify_token(token, scopes, ip, cost)

    def verify_pair(
        self,
        client_id: str,
        secret: str,
        scopes: Sequence[str] = (),
        *,
        ip: str | None = None,
        cost: int = 1,
    ) -> Verification:
        """Check a client_id + secret pair (HTTP Basic): a token or an article-format secret."""
        return self.pipeline.verify(PairCredential(client_id, secret), scopes, ip=ip, cost=cost)

    def verify_credential(
        self,
        credential: Credential,
        scopes: Sequence[str] = (),
        *,
        ip: str | None = None,
        cost: int = 1,
    ) -> Verification:
        """Check a credential read from request headers (see :mod:`keyhive.core.credentials`)."""
        return self.pipeline.verify(credential, scopes, ip=ip, cost=cost)

    def verify_cached(
        self,
        credential: Credential,
        scopes: Sequence[str] = (),
        *,
        ip: str | None = None,
        cost: int = 1,
    ) -> Verification | None:
        """The answer when it needs neither a hash nor I/O, else None (for event loops)."""
        result = self.pipeline.start(credential, scopes, ip=ip, cost=cost)
        return result if isinstance(result, Verification) else None
