"""Bodies of ``POST /v1/portal/sessions`` (see keyhive.core.portal for the rules)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from keyhive.core.portal import MAX_OWNER, MAX_SECRETS_LIMIT, MAX_URL
from keyhive.core.scopes import MAX_SCOPES
from keyhive.server.schemas import DURATION_PATTERN, Name, Scope


class PortalSessionCreate(BaseModel):
    """A portal session for one owner: what their keys may do, and for how long."""

    model_config = ConfigDict(extra="forbid")

    owner: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_OWNER,
            description="your id for the customer; their clients have this owner",
            examples=["user-42"],
        ),
    ]
    allowed_scopes: Annotated[
        list[Scope],
        Field(
            min_length=1,
            max_length=MAX_SCOPES,
            description="the scopes the customer may give their keys (never keyhive:*)",
            examples=[["articles:create", "users:read"]],
        ),
    ]
    max_secrets: Annotated[
        StrictInt | None,
        Field(ge=0, le=MAX_SECRETS_LIMIT, description="most active keys the owner may hold"),
    ] = None
    return_url: Annotated[
        str | None,
        Field(
            max_length=MAX_URL,
            description="absolute http(s) URL the portal links back to",
            examples=["https://app.example.com/account"],
        ),
    ] = None
    ttl: Annotated[
        str,
        Field(
            pattern=DURATION_PATTERN,
            max_length=64,
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
