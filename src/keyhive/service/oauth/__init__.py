"""OAuth 2.0 access tokens over keyhive secrets: the authorization server
(:class:`OAuthService`) and the resource side (:class:`AccessTokenVerifier`).

Needs the ``oauth`` extra (joserfc, cryptography; httpx for a JWKS URL).
"""

from keyhive.service.oauth.claims import AccessToken
from keyhive.service.oauth.keycache import KeysUnavailable
from keyhive.service.oauth.service import IssuedToken, OAuthService
from keyhive.service.oauth.verifier import AccessTokenVerifier, TokenVerification

__all__ = [
    "AccessToken",
    "AccessTokenVerifier",
    "IssuedToken",
    "KeysUnavailable",
    "OAuthService",
    "TokenVerification",
]
