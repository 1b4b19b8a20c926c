"""Bodies of ``POST /v1/portal/sessions`` (see keyhive.core.portal for the rules)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt

from keyhive.core.portal import MAX_OWNER, MAX_SECRETS_LIMIT, MAX_URL
from keyhive.core.scopes import MAX_SCOPES
from keyhive.core.validation import TEXT_PATTERN
from keyhive.server import patterns
from keyhive.server.schemas import Name, whole


class PortalSessionCreate(BaseModel):
    """A portal session for one owner: what their keys may do, and for how long."""

    model_config = ConfigDict(extra="forbid")

    owner: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_OWNER,
            pattern=TEXT_PATTERN,
            description="your id for the customer; their clients have this owner "
            "(not `keyhive`, the owner of keyhive's own admin client: a 409)",
            examples=["user-42"],
        ),
    ]
    allowed_scopes: Annotated[
        list[Annotated[str, Field(pattern=patterns.GRANTABLE_SCOPE, examples=["articles:read"])]],
        Field(
            min_length=1,
            max_length=MAX_SCOPES,
            description="the scopes the customer may give their keys (never keyhive:*)",
            examples=[["articles:create", "users:read"]],
        ),
    ]
    max_secrets: (
        Annotated[
            StrictInt,
            Field(ge=0, le=MAX_SECRETS_LIMIT, description="most active keys the owner may hold"),
            BeforeValidator(whole),
        ]
        | None
    ) = None
    return_url: Annotated[
        str | None,
        Field(
            max_length=MAX_URL,
            pattern=patterns.HTTP_URL,
            description="absolute http(s) URL the portal links back to",
            examples=["https://app.example.com/account"],
        ),
    ] = None
    ttl: Annotated[
        str,
        Field(
            pattern=patterns.PORTAL_TTL,
            description="how long the link and its session last: 1m to 24h",
            examples=["15m"],
        ),
    ] = "15m"
    client_name: Annotated[
        Name | None, Field(description="name of the client made when the owner has none")
    ] = None


class PortalSessionOut(BaseModel):
    """The link to send the customer to (once), and when it and its session end."""

    url: str = Field(description="opens the portal once; carries a one-time code")
    expires_at: datetime
