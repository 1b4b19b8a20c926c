"""URLs of the Django test app: plain views with keyhive_required, and DRF views."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from keyhive.integrations.django import keyhive_required
from keyhive.integrations.drf import HasKeyhiveScopes, KeyhiveAuthentication

from .apps import seen


@keyhive_required("articles:create")
def create(request: HttpRequest) -> HttpResponse:
    return JsonResponse(seen(request.keyhive))  # type: ignore[attr-defined]


@keyhive_required("users:read")
def users(request: HttpRequest) -> HttpResponse:
    return JsonResponse(seen(request.keyhive))  # type: ignore[attr-defined]


def public(request: HttpRequest) -> HttpResponse:
    who = request.keyhive  # type: ignore[attr-defined]
    return JsonResponse({"client_id": who.client_id if who else None})


class Guarded(APIView):
    authentication_classes = [KeyhiveAuthentication]
    permission_classes = [HasKeyhiveScopes]

    def get(self, request: Request) -> Response:
        return Response(seen(request.auth))

    def post(self, request: Request) -> Response:
        return Response(seen(request.auth))


class Articles(Guarded):
    required_scopes: Any = {"POST": ["articles:create"], "GET": ["articles:read"]}


class Users(Guarded):
    required_scopes: Any = ["users:read"]


urlpatterns = [
    path("articles", create),
    path("users", users),
    path("public", public),
    path("drf/articles", Articles.as_view()),
    path("drf/users", Users.as_view()),
]
