"""The resource side: is this access token good for this request? Checked locally.

An :class:`AccessTokenVerifier` checks a JWT against a cached key set (the local key
ring, or a JWKS URL): signature, ``typ``, ``iss``, ``aud``, ``exp``/``nbf`` with a small
leeway, and the scopes a route needs. Built with :meth:`AccessTokenVerifier.for_hive`
it also refuses tokens that were revoked, or whose secret was revoked or expired or
whose client was disabled, learning such changes from the change feed.

Answers use keyhive's :class:`~keyhive.Code`: NOT_FOUND for anything that is not a
good token of ours (unreadable, bad signature, unknown key, wrong issuer or audience),
and other codes only once the signature checked out.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from keyhive.core.clock import Clock, SystemClock
from keyhive.core.errors import InvalidInput, NotFound
from keyhive.core.model import Client, Code, Secret
from keyhive.core.oauth import ACCESS_TOKEN_TYP, ALGORITHMS, looks_like_jwt
from keyhive.core.scopes import allows, normalize_scopes
from keyhive.service.oauth import claims as rules
from keyhive.service.oauth import jose
from keyhive.service.oauth.claims import AccessToken
from keyhive.service.oauth.keycache import NEEDS_IO, KeyCache

if TYPE_CHECKING:
    import httpx

    from keyhive.service.hive import KeyHive
    from keyhive.service.oauth.denylist import RevokedTokens
    from keyhive.service.oauth.service import OAuthService

_TYPES: Final = frozenset({ACCESS_TOKEN_TYP, "application/" + ACCESS_TOKEN_TYP})


@dataclass(frozen=True, slots=True)
class TokenVerification:
    """The verdict on one access token.

    ``token`` is set once the signature checked out; ``scopes`` are those in force
    (the token's, less any its secret no longer grants); ``client`` and ``secret`` are
    set by a verifier with a local KeyHive.
    """

    code: Code
    token: AccessToken | None = None
    scopes: tuple[str, ...] = ()
    client: Client | None = None
    secret: Secret | None = None

    @property
    def valid(self) -> bool:
        return self.code is Code.VALID

    @property
    def client_id(self) -> str | None:
        return self.token.client_id if self.token else None

    @property
    def secret_id(self) -> str | None:
        return self.token.secret_id if self.token else None


_NOT_FOUND: Final = TokenVerification(Code.NOT_FOUND)


class SecretStates:
    """The secrets and clients behind tokens, as a local KeyHive sees them now.

    Cached (``ttl`` seconds, ``size`` entries) and dropped when the change feed names
    the secret or its client, so a revoke elsewhere reaches this process within the
    feed's latency, and a repeat caller costs no database read.
    """

    def __init__(
        self,
        hive: KeyHive,
        revoked: RevokedTokens,
        *,
        ttl: float = 60.0,
        size: int = 100_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._hive = hive
        self._revoked = revoked
        self._ttl = ttl
        self._size = size
        self._monotonic = monotonic
        self._entries: OrderedDict[str, tuple[float, Secret | None, Client | None]] = OrderedDict()
        self._lock = threading.Lock()

    def lookup(
        self, token: AccessToken, *, io: bool
    ) -> tuple[Secret | None, Client | None] | object:
        """(secret, client) of the token; :data:`NEEDS_IO` if a read is due and not allowed."""
        sid = token.secret_id
        if sid is None:
            return None, None
        entry = self._entries.get(sid)
        if entry is not None and self._monotonic() - entry[0] < self._ttl:
            return entry[1], entry[2]
        if not io:
            return NEEDS_IO
        secret: Secret | None
        client: Client | None
        try:
            secret = self._hive.get_secret(sid)
            client = self._hive.get_client(secret.client_id)
        except (NotFound, InvalidInput):
            secret, client = None, None
        with self._lock:
            self._entries[sid] = (self._monotonic(), secret, client)
            self._entries.move_to_end(sid)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return secret, client

    def revoked(self, jti: str) -> bool:
        return jti in self._revoked

    def on_change(self, target_type: str, target_id: str) -> None:
        with self._lock:
            if target_type == "secret":
                self._entries.pop(target_id, None)
            elif target_type == "client":
                owned = [
                    sid
                    for sid, (_, _, owner) in self._entries.items()
                    if owner is not None and owner.client_id == target_id
                ]
                for sid in owned:
                    del self._entries[sid]
            elif target_type == "*":
                self._entries.clear()


class AccessTokenVerifier:
    """Checks keyhive access tokens for one resource server (one issuer, its audiences).

    ``verify`` may do I/O (a key-set fetch, a database read); ``verify_cached`` never
    does and answers None when it would have to, for event loops: call ``verify`` in
    a thread then.
    """

    def __init__(
        self,
        keys: KeyCache,
        *,
        issuer: str,
        audience: str | Sequence[str],
        leeway: timedelta = timedelta(seconds=30),
        clock: Clock | None = None,
        algorithms: Sequence[str] = ALGORITHMS,
        states: SecretStates | None = None,
        verified_size: int = 4096,
    ) -> None:
        audiences = (audience,) if isinstance(audience, str) else tuple(audience)
        if not issuer or not audiences or not all(audiences):
            raise ValueError("an issuer and at least one audience are needed")
        self.keys = keys
        self.issuer = issuer
        self.audiences = frozenset(audiences)
        self.leeway = leeway
        self.clock: Clock = clock or SystemClock()
        self.algorithms = frozenset(algorithms) & frozenset(ALGORITHMS)
        self.states = states
        #: Tokens whose signature and claims were checked (signatures do not change; time,
        #: deny-list and secret state are checked again on every call).
        self._verified: OrderedDict[str, AccessToken] = OrderedDict()
        self._verified_size = verified_size
        self._lock = threading.Lock()

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def for_hive(
        cls,
        hive: KeyHive,
        *,
        audience: str | Sequence[str] | None = None,
        issuer: str | None = None,
        service: OAuthService | None = None,
        leeway: timedelta = timedelta(seconds=30),
    ) -> AccessTokenVerifier:
        """A verifier in a process that has the KeyHive: keys from the database, and the
        deny-list and secret states kept current by the change feed.

        ``issuer`` and ``audience`` default to KEYHIVE_OAUTH_ISSUER and _AUDIENCE.
        """
        from keyhive.service.oauth.service import OAuthService

        oauth = service or OAuthService.for_hive(hive)
        issuer = issuer or oauth.config.issuer
        audience = audience or oauth.config.audience
        if not issuer or not audience:
            raise ValueError(
                "pass issuer= and audience= or set KEYHIVE_OAUTH_ISSUER and KEYHIVE_OAUTH_AUDIENCE"
            )
        states = SecretStates(hive, oauth.revoked)
        verifier = cls(
            oauth.key_cache(),
            issuer=issuer,
            audience=audience,
            leeway=leeway,
            clock=hive.clock,
            states=states,
        )
        oauth.changes.subscribe(states.on_change)
        return verifier

    @classmethod
    def from_jwks_url(
        cls,
        url: str,
        *,
        issuer: str,
        audience: str | Sequence[str],
        http: httpx.Client | None = None,
        min_refresh: float = 10.0,
        max_age: float = 900.0,
        leeway: timedelta = timedelta(seconds=30),
        clock: Clock | None = None,
    ) -> AccessTokenVerifier:
        """A verifier for a resource server that only knows the JWKS URL (no database):
        signatures and claims only; a revoked token passes until it expires."""
        from keyhive.service.oauth.jwks_url import JwksUrl

        cache = KeyCache(JwksUrl(url, http=http), min_refresh=min_refresh, max_age=max_age)
        return cls(cache, issuer=issuer, audience=audience, leeway=leeway, clock=clock)

    # -- verification ----------------------------------------------------------------------
    def verify(self, token: str, scopes: Sequence[str] = ()) -> TokenVerification:
        """The verdict; may fetch keys or read the database. Never raises on bad input
        (KeysUnavailable, a StorageUnavailable, when no key set can be had at all)."""
        result = self._check(token, scopes, io=True)
        assert isinstance(result, TokenVerification)
        return result

    def verify_cached(self, token: str, scopes: Sequence[str] = ()) -> TokenVerification | None:
        """The verdict if it needs no I/O, else None."""
        result = self._check(token, scopes, io=False)
        return result if isinstance(result, TokenVerification) else None

    def _check(self, text: str, scopes: Sequence[str], *, io: bool) -> TokenVerification | object:
        try:
            required = normalize_scopes(list(scopes)) if scopes else ()
        except InvalidInput:
            return _NOT_FOUND
        now = self.clock.now()
        known = self._verified.get(text) if isinstance(text, str) else None
        if known is not None:
            if known.expires_at <= now - self.leeway:
                return TokenVerification(Code.EXPIRED)
            return self._judged(known, required, io=io)
        decoded = decode(
            text,
            self.keys,
            io=io,
            algorithms=self.algorithms,
            now=now,
            leeway=self.leeway,
            issuer=self.issuer,
            audiences=self.audiences,
        )
        if not isinstance(decoded, AccessToken):
            return decoded
        self._remember(text, decoded)
        return self._judged(decoded, required, io=io)

    def _remember(self, text: str, token: AccessToken) -> None:
        """Keep a checked signature: a client sends the same token for its whole life."""
        with self._lock:
            self._verified[text] = token
            while len(self._verified) > self._verified_size:
                self._verified.popitem(last=False)

    def _judged(
        self, token: AccessToken, required: tuple[str, ...], *, io: bool
    ) -> TokenVerification | object:
        scopes = token.scopes
        secret = client = None
        if self.states is not None:
            if self.states.revoked(token.jti):
                return TokenVerification(Code.REVOKED, token)
            looked = self.states.lookup(token, io=io)
            if looked is NEEDS_IO:
                return NEEDS_IO
            assert isinstance(looked, tuple)
            secret, client = looked
            code, scopes = rules.judge(token, secret, client, self.clock.now())
            if code is not Code.VALID:
                return TokenVerification(code, token, (), client, secret)
        if required and not allows(scopes, required):
            return TokenVerification(Code.INSUFFICIENT_SCOPE, token, scopes, client, secret)
        return TokenVerification(Code.VALID, token, scopes, client, secret)


def decode(
    text: str,
    keys: KeyCache,
    *,
    io: bool,
    algorithms: frozenset[str],
    now: datetime,
    leeway: timedelta,
    issuer: str | None,
    audiences: frozenset[str] | None,
) -> AccessToken | TokenVerification | object:
    """The token in ``text`` if its form, header, key, signature and claims check out;
    else the verdict (NOT_FOUND, or EXPIRED for a genuine token past its time), or
    :data:`NEEDS_IO` when ``io`` is False and the key set must be fetched first.

    ``issuer`` and ``audiences`` None skip those checks (the authorization server's
    own introspection: the signature already says the token is its own).
    """
    if not looks_like_jwt(text):
        return _NOT_FOUND
    try:
        header = jose.header_of(text)
    except jose.BadToken:
        return _NOT_FOUND
    alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
    if alg not in algorithms or not isinstance(kid, str) or not kid:
        return _NOT_FOUND
    if not isinstance(typ, str) or typ.lower() not in _TYPES or "crit" in header:
        return _NOT_FOUND
    found = keys.find(kid, io=io)
    if found is NEEDS_IO:
        return NEEDS_IO
    if not isinstance(found, tuple) or found[0] != alg:
        return _NOT_FOUND
    try:
        payload = jose.verified_claims(text, alg, found[1])
        return rules.read(payload, now=now, leeway=leeway, issuer=issuer, audiences=audiences)
    except rules.Expired:
        return TokenVerification(Code.EXPIRED)
    except (jose.BadToken, rules.BadClaims):
        return _NOT_FOUND
