"""The OAuth endpoints' bodies as pydantic models, for the OpenAPI document only.

The endpoints read their form bodies themselves (:mod:`keyhive.server.oauth`): these
models describe them, they do not parse them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from keyhive.core.oauth import MAX_PARAMETER


class TokenForm(BaseModel):
    """``application/x-www-form-urlencoded`` body of ``POST /oauth/token``."""

    grant_type: Literal["client_credentials"]
    scope: str | None = Field(
        None, max_length=MAX_PARAMETER, description="Space-separated; default: every scope"
    )
    resource: str | None = Field(
        None,
        max_length=MAX_PARAMETER,
        description="RFC 8707: the API's absolute URI, the token's audience",
    )
    client_id: str | None = Field(None, description="client_secret_post (else HTTP Basic)")
    client_secret: str | None = Field(None, description="client_secret_post (else HTTP Basic)")


class TokenOut(BaseModel):
    access_token: str = Field(description="A JWT (RFC 9068), signed by a key in the JWKS")
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str


class OAuthErrorOut(BaseModel):
    """RFC 6749 §5.2."""

    error: str
    error_description: str | None = None


class TokenParam(BaseModel):
    """Body of ``POST /oauth/introspect`` and ``POST /oauth/revoke``."""

    token: str = Field(min_length=1)
    token_type_hint: str | None = None
    client_id: str | None = Field(None, description="revoke: client_secret_post")
    client_secret: str | None = Field(None, description="revoke: client_secret_post")


class IntrospectionOut(BaseModel):
    """RFC 7662 §2.2: only ``active`` when the token is not active."""

    model_config = ConfigDict(extra="allow")

    active: bool
    scope: str | None = None
    client_id: str | None = None
    sub: str | None = None
    aud: str | list[str] | None = None
    iss: str | None = None
    exp: int | None = None
    iat: int | None = None
    jti: str | None = None
    token_type: str | None = None
    kh_sid: str | None = Field(None, description="the keyhive secret the token came from")


class JwksOut(BaseModel):
    keys: list[dict[str, Any]]


class MetadataOut(BaseModel):
    """RFC 8414 §2."""

    model_config = ConfigDict(extra="allow")

    issuer: str
    token_endpoint: str
    jwks_uri: str
    introspection_endpoint: str
    revocation_endpoint: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
