"""Django: a middleware that identifies the caller, and a view decorator with scopes.

    MIDDLEWARE = [..., "keyhive.integrations.django.KeyhiveMiddleware"]
    KEYHIVE = {"DATABASE_URL": "sqlite:///./keyhive.db"}
    # or {"REMOTE_URL": "https://keyhive.internal", "REMOTE_TOKEN": "kh_..."}
    # or {"VERIFIER": a KeyHive, a verifier, or the dotted path to one}

``request.keyhive`` is the verified :class:`Principal`, or None when no credential was
sent; a credential that fails is answered 401 at once (RFC 6750). Django REST framework
classes are in :mod:`keyhive.integrations.drf`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar, cast

from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from keyhive.integrations._gate import check, required_scopes, scope_check
from keyhive.integrations._principal import Principal
from keyhive.integrations._rfc6750 import DEFAULT_REALM, Denial, missing, passed_headers
from keyhive.integrations._verifier import Verifier, as_verifier, client_ip
from keyhive.service.hive import KeyHive

SETTING: Final = "KEYHIVE"
V = TypeVar("V", bound=Callable[..., HttpResponse])

_verifier: Verifier | None = None


def _config() -> Mapping[str, Any]:
    return cast(Mapping[str, Any], getattr(settings, SETTING, {}))


def realm() -> str:
    return str(_config().get("REALM", DEFAULT_REALM))


def get_verifier() -> Verifier:
    """The verifier named by ``settings.KEYHIVE``, built once (again after a change)."""
    global _verifier
    if _verifier is None:
        _verifier = _build(_config())
    return _verifier


def _build(config: Mapping[str, Any]) -> Verifier:
    if "VERIFIER" in config:
        found = config["VERIFIER"]
        return as_verifier(import_string(found) if isinstance(found, str) else found)
    if "REMOTE_URL" in config:
        from keyhive.integrations.remote import RemoteVerifier  # httpx only when asked

        return RemoteVerifier(config["REMOTE_URL"], config["REMOTE_TOKEN"])
    return as_verifier(KeyHive(config.get("DATABASE_URL")))


def _reset(*, setting: str, **_: Any) -> None:
    global _verifier
    if setting == SETTING:
        _verifier = None


setting_changed.connect(_reset)


class KeyhiveUser:
    """A stand-in for ``request.user`` (as DRF sets it): authenticated, keyed by client_id."""

    is_authenticated: Final = True
    is_anonymous: Final = False

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.pk = principal.client_id

    def __str__(self) -> str:
        return self.principal.name or self.principal.client_id


def response(denial: Denial) -> HttpResponse:
    answer = HttpResponse(denial.content(), status=denial.status, content_type="application/json")
    for name, value in denial.headers.items():
        answer[name] = value
    return answer


def identify(request: HttpRequest) -> Principal | Denial | None:
    """Check the request's credential (no scopes); None when it carries none."""
    return check(
        get_verifier(),
        request.headers.get("Authorization"),
        request.headers.get("X-API-Key"),
        ip=client_ip(request.META.get("REMOTE_ADDR")),
        realm=realm(),
        optional=True,
    )


class KeyhiveMiddleware:
    """Sets ``request.keyhive``; answers a presented but failing credential itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        result = identify(request)
        if isinstance(result, Denial):
            return response(result)
        request.keyhive = result  # type: ignore[attr-defined]
        answer = self.get_response(request)
        if result is not None:
            for name, value in passed_headers(result.limits).items():
                answer.setdefault(name, value)
        return answer


def keyhive_required(*scopes: str) -> Callable[[V], V]:
    """Guard a function view: 401 without a valid secret, 403 without every scope.

    Uses what the middleware found; verifies by itself when the middleware is absent.
    """
    required = required_scopes(scopes)

    def decorate(view: V) -> V:
        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if hasattr(request, "keyhive"):
                result: Principal | Denial | None = request.keyhive
            else:
                result = identify(request)
                request.keyhive = result if isinstance(result, Principal) else None  # type: ignore[attr-defined]
            if result is None:
                return response(missing(realm()))
            denial = (
                result if isinstance(result, Denial) else scope_check(result, required, realm())
            )
            if denial is not None:
                return response(denial)
            return view(request, *args, **kwargs)

        return cast(V, guarded)

    return decorate


__all__ = ["KeyhiveMiddleware", "KeyhiveUser", "get_verifier", "keyhive_required"]
