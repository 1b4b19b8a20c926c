"""Integrations for resource servers that know only keyhive's JWKS URL: OAuth access
tokens checked locally, with no database and no call to keyhive per request.

    verifier = AccessTokenVerifier.from_jwks_url(
        "https://keys.example/.well-known/jwks.json", issuer=..., audience=...
    )
    auth = KeyhiveAuth(AsyncTokenVerifier(verifier))   # FastAPI, Starlette
    keyhive = KeyhiveFlask(app, TokenVerifier(verifier))  # Flask, Django

A process that has a KeyHive needs none of this: the hive's own pipeline takes access
tokens beside API keys. Here an API key is refused (it can only be checked by keyhive),
and a token is judged on its signature and claims; a revoked one passes until it
expires, which is why access tokens are short-lived.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import anyio.to_thread

from keyhive.core.credentials import Credential, TokenCredential
from keyhive.core.model import Code
from keyhive.core.oauth import looks_like_jwt
from keyhive.integrations._principal import Principal, Verdict


class _Checked(Protocol):
    @property
    def code(self) -> Code: ...

    @property
    def scopes(self) -> tuple[str, ...]: ...

    @property
    def client_id(self) -> str | None: ...

    @property
    def secret_id(self) -> str | None: ...


class _Tokens(Protocol):
    """keyhive.service.oauth.AccessTokenVerifier, as these adapters use it."""

    def verify(self, token: str, scopes: Sequence[str] = ()) -> _Checked: ...

    def verify_cached(self, token: str, scopes: Sequence[str] = ()) -> _Checked | None: ...


def _token_of(credential: Credential) -> str | None:
    if isinstance(credential, TokenCredential) and looks_like_jwt(credential.token):
        return credential.token
    return None


def _verdict(checked: _Checked) -> Verdict:
    if checked.code is not Code.VALID:
        return Verdict(checked.code)
    if checked.client_id is None:  # pragma: no cover - a valid token always names a client
        return Verdict(Code.NOT_FOUND)
    principal = Principal(
        client_id=checked.client_id, secret_id=checked.secret_id or "", scopes=checked.scopes
    )
    return Verdict(Code.VALID, principal)


class TokenVerifier:
    """A blocking verifier (Flask, Django) over an AccessTokenVerifier."""

    def __init__(self, tokens: _Tokens) -> None:
        self.tokens = tokens

    def verify(
        self, credential: Credential, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verdict:
        token = _token_of(credential)
        if token is None:
            return Verdict(Code.NOT_FOUND)
        return _verdict(self.tokens.verify(token, scopes))


class AsyncTokenVerifier:
    """An async verifier (FastAPI, Starlette): a cached key set answers on the event loop;
    a key-set fetch (an unknown ``kid``) runs in a worker thread."""

    def __init__(self, tokens: _Tokens) -> None:
        self.tokens = tokens

    async def verify(
        self, credential: Credential, scopes: Sequence[str] = (), *, ip: str | None = None
    ) -> Verdict:
        token = _token_of(credential)
        if token is None:
            return Verdict(Code.NOT_FOUND)
        checked = self.tokens.verify_cached(token, scopes)
        if checked is None:
            checked = await anyio.to_thread.run_sync(self.tokens.verify, token, scopes)
        return _verdict(checked)


__all__ = ["AsyncTokenVerifier", "TokenVerifier"]
