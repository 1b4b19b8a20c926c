"""Fixtures for the framework integrations: the article's two secrets, and Django."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from keyhive import KeyHive
from keyhive.core.model import Client


@dataclass(frozen=True)
class Blog:
    """The article's example: one client, a writer secret and a reader secret."""

    client: Client
    writer: str  # articles:create, articles:update
    writer_id: str
    reader: str  # users:read


@pytest.fixture
def blog(hive: KeyHive) -> Blog:
    client = hive.create_client("blog", owner="alice", metadata={"plan": "pro"})
    writer = hive.issue_secret(client.client_id, scopes=["articles:create", "articles:update"])
    reader = hive.issue_secret(client.client_id, scopes=["users:read"])
    return Blog(client, writer.token, writer.secret_id, reader.token)


@pytest.fixture(scope="session", autouse=True)
def _django_settings() -> None:
    """Django can be configured once per process; each test overrides KEYHIVE."""
    try:
        import django
        from django.conf import settings
    except ImportError:  # pragma: no cover - the django tests skip themselves
        return
    if not settings.configured:
        settings.configure(
            SECRET_KEY="keyhive-tests-only",
            ALLOWED_HOSTS=["testserver"],
            ROOT_URLCONF="tests.integrations.django_urls",
            MIDDLEWARE=["keyhive.integrations.django.KeyhiveMiddleware"],
            INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
            DATABASES={},
            REST_FRAMEWORK={"UNAUTHENTICATED_USER": None},
            KEYHIVE={},
        )
        django.setup()
