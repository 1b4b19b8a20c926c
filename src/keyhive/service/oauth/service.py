"""The authorization server of one KeyHive: the client credentials grant (RFC 6749
§4.4), introspection (RFC 7662), revocation (RFC 7009), its key set and metadata.

Framework-free: the HTTP face parses requests and turns :class:`OAuthError` into
responses. Clients authenticate through the facade (``hive.verify_pair``), so a
secret's rate limit, credits, IP allowlist, expiry and revocation, and its client's
state, apply to getting tokens exactly as to any other use of the secret.
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, Final

from keyhive.core.errors import InvalidInput, NotFound
from keyhive.core.model import AuditEvent, Code, Verification
from keyhive.core.oauth import (
    ACCESS_TOKEN_TYP,
    ALGORITHMS,
    OAuthConfig,
    OAuthError,
    TokenServiceUnavailable,
    absolute_uri,
    grantable,
    invalid_client,
    invalid_request,
    parse_scope,
)
from keyhive.core.scopes import allows
from keyhive.core.tokens import looks_like_token
from keyhive.service.hive import KeyHive
from keyhive.service.oauth import claims as rules
from keyhive.service.oauth import jose
from keyhive.service.oauth.changes import EVERYTHING, ChangeFeed
from keyhive.service.oauth.claims import AccessToken
from keyhive.service.oauth.denylist import TOKEN_TARGET, RevokedTokens
from keyhive.service.oauth.keycache import KeyCache
from keyhive.service.oauth.keys import KEY_TARGET, SigningKeys
from keyhive.service.oauth.verifier import decode
from keyhive.storage.oauth import RevokedToken, SigningKeyRecord

GRANT: Final = "client_credentials"
AUTH_METHODS: Final = ("client_secret_basic", "client_secret_post")
_INACTIVE: Final = {"active": False}


@dataclasses.dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token response (RFC 6749 §5.1): the JWT is shown to the client, never stored."""

    access_token: str = dataclasses.field(repr=False)
    expires_in: int
    scope: str
    jti: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }


class OAuthService:
    """OAuth 2.0 over a KeyHive. One per hive and process (:meth:`for_hive`), since it
    keeps the deny-list and follows the change feed; ``watch=False`` for one-shot use
    (the CLI)."""

    _instances: ClassVar[weakref.WeakKeyDictionary[KeyHive, OAuthService]] = (
        weakref.WeakKeyDictionary()
    )
    _instances_lock: ClassVar = threading.Lock()

    def __init__(
        self, hive: KeyHive, *, config: OAuthConfig | None = None, watch: bool = True
    ) -> None:
        self.hive = hive
        self.config = config or hive.settings.oauth()
        self.store = hive.store.oauth
        self.signing = SigningKeys(self.store, hive.server_keys, hive.clock, self.config)
        self._keys = KeyCache(self.signing.jwks, min_refresh=1.0, max_age=60.0)
        # The feed's cursor first, then the deny-list: a revoke committed in between is
        # in the list or in the feed, never in neither.
        self.changes = ChangeFeed(hive)
        self.revoked = RevokedTokens(self.store, hive.clock)
        self.changes.subscribe(self._on_change)

    @classmethod
    def for_hive(cls, hive: KeyHive) -> OAuthService:
        """The service of this hive in this process, made (and watching changes) on first use."""
        with cls._instances_lock:
            found = cls._instances.get(hive)
            if found is None:
                found = cls._instances[hive] = cls(hive)
                hive.on_close(found.close)
            return found

    def close(self) -> None:
        """Stop following the change feed."""
        self.changes.close()
        with self._instances_lock:
            if self._instances.get(self.hive) is self:
                del self._instances[self.hive]

    def key_cache(self) -> KeyCache:
        """The published keys, cached; refreshed when a new key appears on any node."""
        return self._keys

    def _on_change(self, target_type: str, target_id: str) -> None:
        if target_type == TOKEN_TARGET:
            self.revoked.on_change(target_type, target_id)
        elif target_type == KEY_TARGET:
            self._keys.mark_stale()
        elif (target_type, target_id) == EVERYTHING:
            self.revoked.reload()
            self._keys.mark_stale()

    # -- the token endpoint ----------------------------------------------------------------
    def issuer(self, base_url: str | None = None) -> str:
        """KEYHIVE_OAUTH_ISSUER, else the base URL the request came to."""
        if self.config.issuer:
            return self.config.issuer
        if not base_url:
            raise TokenServiceUnavailable("no issuer: set KEYHIVE_OAUTH_ISSUER")
        return base_url.rstrip("/")

    def token(
        self,
        *,
        grant_type: str | None,
        client_id: str | None,
        client_secret: str | None,
        scope: str | None = None,
        resources: Sequence[str] = (),
        ip: str | None = None,
        base_url: str | None = None,
    ) -> IssuedToken:
        """The client credentials grant. Raises OAuthError (the RFC 6749 §5.2 answer)
        or TokenServiceUnavailable (503: tokens cannot be signed here now)."""
        if not grant_type:
            raise invalid_request("grant_type is required")
        if grant_type != GRANT:
            raise OAuthError("unsupported_grant_type", "only client_credentials is supported")
        requested = parse_scope(scope)
        audience = self._audience(resources)
        issuer = self.issuer(base_url)
        if not client_id or not client_secret:
            raise invalid_client("client_id and client_secret are required")
        key = self.signing.current()  # 503 here, before the secret is spent on a token
        result = self.hive.verify_pair(client_id, client_secret, ip=ip)
        refused = _refusal(result)
        if refused is not None:
            raise refused
        assert result.secret is not None
        assert result.client is not None
        secret = result.secret
        granted = grantable(result.scopes)  # its own scopes and its roles'
        if requested is None:
            scopes = granted
        elif allows(granted, requested):
            scopes = requested
        else:
            raise OAuthError("invalid_scope", "the secret does not grant every scope requested")
        now = self.hive.clock.now()
        expires = min(
            t
            for t in (now + self.config.lifetime, secret.expires_at, secret.revoked_at)
            if t is not None
        )
        jti = rules.new_jti()
        payload = rules.build(
            issuer=issuer,
            audience=audience,
            client_id=result.client.client_id,
            secret_id=secret.secret_id,
            scopes=scopes,
            now=now,
            expires_at=expires,
            jti=jti,
        )
        text = jose.sign(payload, key.private, key.kid, key.alg, ACCESS_TOKEN_TYP)
        lifetime = max(1, int((expires - now).total_seconds()))
        return IssuedToken(text, lifetime, " ".join(scopes), jti)

    def _audience(self, resources: Sequence[str]) -> str:
        if len(resources) > 1:
            raise OAuthError("invalid_target", "ask for one resource per token")
        if resources:
            return absolute_uri(resources[0])
        if self.config.audience:
            return self.config.audience
        raise OAuthError(
            "invalid_target",
            "name the API with the resource parameter (this server has no default audience)",
        )

    # -- introspection and revocation ------------------------------------------------------
    def _decoded(self, text: str) -> AccessToken | None:
        """A token signed by one of our published keys and not expired, else None."""
        decoded = decode(
            text,
            self._keys,
            io=True,
            algorithms=frozenset(ALGORITHMS),
            now=self.hive.clock.now(),
            leeway=timedelta(0),
            issuer=None,
            audiences=None,
        )
        return decoded if isinstance(decoded, AccessToken) else None

    def introspect(self, text: object) -> dict[str, Any]:
        """RFC 7662: ``{"active": false}`` unless the token is ours, unexpired, not
        revoked, and its secret and client are in force right now (read afresh from the
        database, so a revoke on any node shows at once)."""
        if not isinstance(text, str):
            return dict(_INACTIVE)
        token = self._decoded(text)
        if token is None or self.store.revoked_token(token.jti) is not None:
            return dict(_INACTIVE)
        code, scopes = rules.judge(token, *self._current(token), self.hive.clock.now())
        return token.to_introspection(scopes) if code is Code.VALID else dict(_INACTIVE)

    def _current(self, token: AccessToken) -> tuple[Any, Any]:
        if token.secret_id is None:
            return None, None
        try:
            secret = self.hive.get_secret(token.secret_id)
            in_force = dataclasses.replace(secret, scopes=self.hive.scopes_in_force(secret))
            return in_force, self.hive.get_client(secret.client_id)
        except (NotFound, InvalidInput):
            return None, None

    def revoke(self, text: object, *, client_id: str, actor: str | None = None) -> bool:
        """RFC 7009: deny-list the token if it is a live token of ``client_id``.

        A token that is unreadable, expired or not ours is ignored (the RFC's answer is
        200 either way); True if this call revoked it. A keyhive secret is refused with
        ``unsupported_token_type``: secrets are revoked through the admin API.
        """
        if not isinstance(text, str):
            return False
        if looks_like_token(text):
            raise OAuthError(
                "unsupported_token_type", "keyhive secrets are revoked with the admin API"
            )
        token = self._decoded(text)
        if token is None:
            return False
        if token.client_id != client_id:
            raise OAuthError("invalid_grant", "the token was issued to another client")
        now = self.hive.clock.now()
        row = RevokedToken(token.jti, token.client_id, token.secret_id, token.expires_at, now)
        event = AuditEvent(
            id=None,
            at=now,
            actor=actor,
            action="token.revoke",
            target_type=TOKEN_TARGET,
            target_id=token.jti,
            before=None,
            after={
                "client_id": token.client_id,
                "secret_id": token.secret_id,
                "expires_at": _iso(token.expires_at),
            },
        )
        done = self.store.revoke_token(row, event)
        self.revoked.add(token.jti, token.expires_at)
        if done:
            self.changes.publish(TOKEN_TARGET, token.jti)
            self.store.drop_revoked_tokens(expired_before=now - self.config.skew)
        return done

    def authenticate(
        self, client_id: str | None, client_secret: str | None, *, ip: str | None = None
    ) -> Verification:
        """Client authentication for revocation: the verification, or OAuthError."""
        if not client_id or not client_secret:
            raise invalid_client("client_id and client_secret are required")
        result = self.hive.verify_pair(client_id, client_secret, ip=ip)
        refused = _refusal(result)
        if refused is not None:
            raise refused
        return result

    # -- keys and metadata -----------------------------------------------------------------
    def jwks(self) -> dict[str, Any]:
        return self.signing.jwks()

    def rotate(self, *, actor: str | None = None) -> SigningKeyRecord:
        """Make a new current key now; the replaced one stays published until its tokens
        have expired. Other nodes see the new key at once (they read keys per token)."""
        record = self.signing.rotate(actor=actor)
        self.changes.publish(KEY_TARGET, record.kid)
        return record

    def metadata(self, base_url: str | None = None) -> dict[str, Any]:
        """Authorization server metadata (RFC 8414)."""
        issuer = self.issuer(base_url)
        return {
            "issuer": issuer,
            "token_endpoint": f"{issuer}/oauth/token",
            "jwks_uri": f"{issuer}/.well-known/jwks.json",
            "introspection_endpoint": f"{issuer}/oauth/introspect",
            "revocation_endpoint": f"{issuer}/oauth/revoke",
            "grant_types_supported": [GRANT],
            "response_types_supported": [],
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        }


def _refusal(result: Verification) -> OAuthError | None:
    """The OAuth answer to a client whose secret did not pass (None when it did).

    Failures of the credential itself are ``invalid_client`` (401). A matched secret
    used from an address it may not be used from is ``unauthorized_client``. Rate
    limits and used-up credits are 429 with Retry-After: RFC 6749 has no code for
    them, so the body says ``temporarily_unavailable`` and the status says why.
    """
    code = result.code
    if code is Code.VALID:
        return None
    if code is Code.IP_NOT_ALLOWED:
        return OAuthError("unauthorized_client", "the secret may not be used from this address")
    if code in (Code.RATE_LIMITED, Code.USAGE_EXCEEDED):
        what = "rate limit" if code is Code.RATE_LIMITED else "credits"
        return OAuthError(
            "temporarily_unavailable",
            f"the secret's {what} ran out; retry later",
            status=429,
            retry_after=result.retry_after or 1.0,
        )
    error = invalid_client()
    error.retry_after = result.retry_after
    return error


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")
