"""Verify against a keyhive server (``POST /v1/verify``) instead of a local database.

For APIs that should not hold keyhive's database: the app keeps one secret with scope
``keyhive:verify`` and sends each credential to the server. Answers are remembered for
``ttl`` seconds (5 by default; 0 turns the cache off), so revocations take effect within
that time here, and within 1 s on the server itself. Errors fail closed: integrations
answer 503 when the server cannot be reached or refuses this app's own secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Generic, TypeVar

import httpx

from keyhive.core.credentials import Credential, PairCredential
from keyhive.core.model import Code
from keyhive.integrations._cache import VerdictCache
from keyhive.integrations._principal import Principal, Verdict, limits_from_answer
from keyhive.integrations._verifier import VerifierUnavailable

DEFAULT_TTL: Final = 5.0
DEFAULT_TIMEOUT: Final = 5.0
C = TypeVar("C", httpx.Client, httpx.AsyncClient)


class _Remote(Generic[C]):
    """What the sync and async variants share: setup, the request body, the cache, the
    reading of answers. Only the sending differs: each variant has its own ``verify``."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        ttl: float = DEFAULT_TTL,
        cache_size: int = 10_000,
        timeout: float = DEFAULT_TIMEOUT,
        client: C | None = None,
    ) -> None:
        if not token:
            raise ValueError("RemoteVerifier needs a keyhive secret with scope keyhive:verify")
        self.url = base_url.rstrip("/") + "/v1/verify"
        self._auth = {"Authorization": f"Bearer {token}"}
        self.cache = VerdictCache(cache_size, ttl) if ttl > 0 else None
        self.client: C = client or self._new_client(timeout)

    def _new_client(self, timeout: float) -> C:
        raise NotImplementedError

    def __repr__(self) -> str:  # never show the token
        return f"{type(self).__name__}({self.url!r})"

    def _body(
        self, credential: Credential, scopes: Sequence[str], ip: str | None
    ) -> dict[str, Any]:
        body: dict[str, Any]
        if isinstance(credential, PairCredential):
            body = {"client_id": credential.client_id, "secret": credential.secret}
        else:
            body = {"token": credential.token}
        body["scopes"] = list(scopes)
        if ip is not None:
            body["ip"] = ip
        return body

    def _recall(
        self, credential: Credential, scopes: Sequence[str], ip: str | None
    ) -> tuple[bytes | None, Verdict | None]:
        if self.cache is None:
            return None, None
        key = self.cache.key(credential, scopes, ip)
        return key, self.cache.get(key)

    def _remember(self, key: bytes | None, verdict: Verdict) -> Verdict:
        if self.cache is not None and key is not None:
            self.cache.put(key, verdict)
        return verdict

    def _read(self, response: httpx.Response) -> Verdict:
        status = response.status_code
        if status in (400, 422):
            # The server could not read the presented credential: treat it as unknown.
            return Verdict(Code.NOT_FOUND)
        if status != 200:
            # 401/403: this app's own secret was refused; 429: this app is throttled.
            hint = " (check this app's keyhive:verify secret)" if status in (401, 403) else ""
            raise VerifierUnavailable(
                f"keyhive at {self.url} answered {status}{hint}",
                retry_after=_float(response.headers.get("retry-after")),
            )
        try:
            data = response.json()
            return verdict_from_dict(data)
        except (ValueError, TypeError, LookupError, AttributeError) as exc:
            raise VerifierUnavailable(f"keyhive at {self.url} sent an unreadable answer") from exc


def verdict_from_dict(data: Mapping[str, Any]) -> Verdict:
    """A verdict from the JSON of ``POST /v1/verify`` (or ``Verification.to_dict()``)."""
    code = Code(data["code"])
    retry = data.get("retry_after")
    return Verdict(
        code,
        Principal.from_dict(data),
        float(retry) if retry is not None else None,
        limits_from_answer(data.get("limits")),
    )


class RemoteVerifier(_Remote[httpx.Client]):
    """Blocking remote verification (Flask, Django); one pooled httpx.Client."""

    def _new_client(self, timeout: float) -> httpx.Client:
        return httpx.Client(timeout=timeout)

    def verify(
        self, credential: Credential, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verdict:
        key, hit = self._recall(credential, scopes, ip)
        if hit is not None:
            return hit
        try:
            response = self.client.post(
                self.url, json=self._body(credential, scopes, ip), headers=self._auth
            )
        except httpx.HTTPError as exc:
            raise VerifierUnavailable(f"cannot reach keyhive at {self.url}") from exc
        return self._remember(key, self._read(response))

    def close(self) -> None:
        self.client.close()


class AsyncRemoteVerifier(_Remote[httpx.AsyncClient]):
    """Remote verification for ASGI apps; one pooled httpx.AsyncClient."""

    def _new_client(self, timeout: float) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=timeout)

    async def verify(
        self, credential: Credential, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verdict:
        key, hit = self._recall(credential, scopes, ip)
        if hit is not None:
            return hit
        try:
            response = await self.client.post(
                self.url, json=self._body(credential, scopes, ip), headers=self._auth
            )
        except httpx.HTTPError as exc:
            raise VerifierUnavailable(f"cannot reach keyhive at {self.url}") from exc
        return self._remember(key, self._read(response))

    async def aclose(self) -> None:
        await self.client.aclose()


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
