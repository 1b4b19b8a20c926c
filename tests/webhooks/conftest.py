"""Fixtures for webhook tests: a receiver, hives that may target it, a sender to step.

Hives here allow private targets (the receiver listens on loopback), as the setting
KEYHIVE_WEBHOOK_ALLOW_PRIVATE does; the tests of the guard turn it off.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from keyhive import FrozenClock, KeyHive, Settings
from keyhive.core.webhooks import NewWebhook
from keyhive.service.webhook_sender import WebhookSender

from .receiver import Receiver, verifying_at

MakeHive = Callable[..., KeyHive]


@pytest.fixture
def wh_settings() -> Settings:
    return Settings(hashing_profile="cheapest", webhook_allow_private=True)


@pytest.fixture
def receiver(clock: FrozenClock) -> Iterator[Receiver]:
    server = Receiver().start()
    with verifying_at(clock):
        yield server
    server.stop()


@pytest.fixture(params=["memory", "sqlite"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    return f"sqlite:///{tmp_path / 'webhooks.db'}"


@pytest.fixture
def make_hive(clock: FrozenClock, wh_settings: Settings) -> Iterator[MakeHive]:
    made: list[KeyHive] = []

    def make(url: str, **options: object) -> KeyHive:
        options.setdefault("settings", wh_settings)
        options.setdefault("clock", clock)
        hive = KeyHive(url, **options)  # type: ignore[arg-type]
        made.append(hive)
        return hive

    yield make
    for hive in made:
        hive.close()


@pytest.fixture
def whive(make_hive: MakeHive, backend_url: str) -> KeyHive:
    """A hive on memory or SQLite (both runs), with a frozen clock."""
    return make_hive(backend_url)


@pytest.fixture
def senders() -> Iterator[Callable[..., WebhookSender]]:
    made: list[WebhookSender] = []

    def make(hive: KeyHive, **options: object) -> WebhookSender:
        options.setdefault("rng", random.Random(7))
        sender = WebhookSender(hive, **options)  # type: ignore[arg-type]
        made.append(sender)
        return sender

    yield make
    for sender in made:
        sender.stop()


def subscribe(hive: KeyHive, receiver: Receiver, *events: str) -> NewWebhook:
    """An endpoint at the receiver for these events (all by default); the receiver learns
    its secret."""
    created = hive.create_webhook(receiver.url, list(events) or ["*"], description="tests")
    receiver.secret = created.secret
    return created
