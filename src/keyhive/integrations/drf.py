"""Django REST framework: an authentication class and a scope permission.

    class ArticleList(APIView):
        authentication_classes = [KeyhiveAuthentication]
        permission_classes = [HasKeyhiveScopes]
        required_scopes = ["articles:create"]        # or {"GET": [...], "POST": [...]}

``request.user`` is a :class:`~keyhive.integrations.django.KeyhiveUser` and
``request.auth`` the :class:`Principal`. Errors keep RFC 6750's form: DRF's own
NotAuthenticated and PermissionDenied would drop the ``error`` and ``scope`` parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from keyhive.core.model import Code
from keyhive.integrations._gate import required_scopes, scope_check
from keyhive.integrations._principal import Principal, Verdict
from keyhive.integrations._rfc6750 import Denial, challenge, deny, missing
from keyhive.integrations.django import KeyhiveUser, identify, realm


class KeyhiveDenied(APIException):
    """A denial raised through DRF's exception handler, which copies ``auth_header``
    into WWW-Authenticate and ``wait`` into Retry-After."""

    def __init__(self, denial: Denial) -> None:
        super().__init__(detail=denial.body)
        self.status_code = denial.status
        self.auth_header = denial.headers.get("WWW-Authenticate")
        retry = denial.headers.get("Retry-After")
        self.wait = int(retry) if retry else None


class KeyhiveAuthentication(BaseAuthentication):
    """Reads Bearer, X-API-Key or Basic client_id:secret; None when nothing was sent."""

    def authenticate(self, request: Request) -> tuple[KeyhiveUser, Principal] | None:
        django_request = request._request
        found = getattr(django_request, "keyhive", None)  # set by KeyhiveMiddleware
        result = found if isinstance(found, Principal) else identify(django_request)
        if result is None:
            return None
        if isinstance(result, Denial):
            raise KeyhiveDenied(result)
        return KeyhiveUser(result), result

    def authenticate_header(self, request: Request) -> str:
        return challenge(realm())


class HasKeyhiveScopes(BasePermission):
    """Allows a verified caller holding the view's ``required_scopes`` (all of them).

    ``required_scopes`` is a list, or a mapping from HTTP method to a list; a method the
    mapping does not name is refused.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        principal = request.auth
        if not isinstance(principal, Principal):
            raise KeyhiveDenied(missing(realm()))
        required = _required(getattr(view, "required_scopes", ()), request.method or "GET")
        denial = (
            deny(Verdict(Code.INSUFFICIENT_SCOPE, principal), (), realm())
            if required is None
            else scope_check(principal, required, realm())
        )
        if denial is not None:
            raise KeyhiveDenied(denial)
        return True


def _required(
    declared: Sequence[str] | Mapping[str, Sequence[str]], method: str
) -> tuple[str, ...] | None:
    if isinstance(declared, Mapping):
        scopes = declared.get(method.upper())
        return None if scopes is None else required_scopes(scopes)
    return required_scopes(declared)


__all__ = ["HasKeyhiveScopes", "KeyhiveAuthentication", "KeyhiveDenied"]
