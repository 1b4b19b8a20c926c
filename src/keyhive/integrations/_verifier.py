"""The one question every integration asks, and its in-process answer.

A :class:`Verifier` turns a credential and the scopes a route needs into a
:class:`Verdict`. Integrations accept a KeyHive, an AsyncKeyHive or any verifier (such as
:class:`~keyhive.integrations.remote.RemoteVerifier`), so one app can switch between
checking secrets itself and asking a keyhive server without changing its routes.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Sequence
from typing import Protocol, cast, runtime_checkable

from keyhive.core.addresses import canonical
from keyhive.core.answers import AnswerMemo
from keyhive.core.credentials import Credential
from keyhive.core.errors import KeyhiveError
from keyhive.core.model import Code, Verification
from keyhive.integrations._principal import Principal, Verdict
from keyhive.service.hive import KeyHive
from keyhive.service.hive_async import AsyncKeyHive


class VerifierUnavailable(KeyhiveError):
    """The verifier could not answer (e.g. a remote keyhive is down); integrations fail
    closed with 503 and ``Retry-After``."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@runtime_checkable
class Verifier(Protocol):
    """Blocking verification, for WSGI frameworks (Flask, Django)."""

    def verify(
        self, credential: Credential, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verdict: ...


@runtime_checkable
class AsyncVerifier(Protocol):
    """Verification that never blocks the event loop, for ASGI frameworks."""

    async def verify(
        self, credential: Credential, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verdict: ...


class LocalVerifier:
    """Checks secrets in this process with a KeyHive (its cache answers repeat callers)."""

    def __init__(self, hive: KeyHive) -> None:
        self.hive = hive
        self._verdicts = AnswerMemo(Verdict.from_verification)
        self._passed = AnswerMemo(_passing_principal)
        self._verify_token = hive.pipeline.verify_token

    def verify(
        self, credential: Credential, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verdict:
        return self._verdicts(self.hive.verify_credential(credential, scopes, ip=ip))

    def verify_token(
        self, token: str, scopes: Sequence[str] = (), ip: str | None = None
    ) -> Principal | Verdict:
        """:meth:`verify` for a token already read from its header (the WSGI hot path,
        straight to the pipeline); a passing answer is its :class:`Principal` itself."""
        result = self._verify_token(token, scopes, ip)
        passed = self._passed(result)
        return passed if passed is not None else self._verdicts(result)


class AsyncLocalVerifier:
    """Checks secrets in this process: cache hits on the loop, slow hashes in threads."""

    def __init__(self, hive: KeyHive | AsyncKeyHive) -> None:
        self.hive = hive if isinstance(hive, AsyncKeyHive) else AsyncKeyHive(hive)
        self._verdicts = AnswerMemo(Verdict.from_verification)
        self._passed = AnswerMemo(_passing_principal)
        #: The pipeline's first stage for a token, bound once: the one call a cache hit
        #: makes below the gate (the pipeline is the hive's for its whole life).
        self._start_token = self.hive.hive.pipeline.start_token

    async def verify(
        self, credential: Credential, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verdict:
        return self._verdicts(await self.hive.verify_credential(credential, scopes, ip=ip))

    def begin(
        self, credential: Credential, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verdict | Awaitable[Verdict]:
        """The verdict now when the pipeline needs no I/O, else an awaitable of it: a
        cache hit costs no coroutine (see :func:`keyhive.integrations._gate.check_async`)."""
        result = self.hive.begin(credential, scopes, ip=ip)
        if isinstance(result, Verification):
            return self._verdicts(result)
        return self._finish(result)

    def begin_token(
        self, token: str, scopes: Sequence[str] = (), ip: str | None = None
    ) -> Principal | Verdict | Awaitable[Verdict]:
        """:meth:`begin` for a token already read from its header; a passing answer that
        needed no I/O is its :class:`Principal` itself (nearly every request's answer,
        without a verdict to look through)."""
        result = self._start_token(token, scopes, ip)
        if isinstance(result, Verification):
            passed = self._passed(result)
            return passed if passed is not None else self._verdicts(result)
        going = self.hive.go_on(result)  # a local read may finish it here
        if isinstance(going, Verification):
            return self._verdicts(going)
        return self._finish(going)

    async def _finish(self, pending: Awaitable[Verification]) -> Verdict:
        return self._verdicts(await pending)


def _passing_principal(result: Verification) -> Principal | None:
    """The principal of a VALID answer that names its client, else None."""
    return Principal.from_verification(result) if result.code is Code.VALID else None


Source = KeyHive | AsyncKeyHive | Verifier | AsyncVerifier


def as_verifier(source: KeyHive | Verifier) -> Verifier:
    """A blocking verifier for a KeyHive or a verifier; async ones are refused here."""
    if isinstance(source, KeyHive):
        return LocalVerifier(source)
    if isinstance(source, AsyncKeyHive) or inspect.iscoroutinefunction(
        getattr(source, "verify", None)
    ):
        raise TypeError("a WSGI app needs a KeyHive or a blocking verifier, not an async one")
    if not isinstance(source, Verifier):
        raise TypeError(f"not a KeyHive or a verifier: {type(source).__name__}")
    return source


def as_async_verifier(source: Source) -> AsyncVerifier:
    """An async verifier for a KeyHive, an AsyncKeyHive or an async verifier."""
    if isinstance(source, KeyHive | AsyncKeyHive):
        return AsyncLocalVerifier(source)
    if not inspect.iscoroutinefunction(getattr(source, "verify", None)):
        raise TypeError(
            f"an ASGI app needs a KeyHive, an AsyncKeyHive or an async verifier, "
            f"not {type(source).__name__}"
        )
    return cast(AsyncVerifier, source)


#: The peer address as verifiers want it: a valid IP in canonical text, else None (e.g.
#: "testclient"). The core's own function, not a wrapper: every request calls it.
client_ip = canonical
