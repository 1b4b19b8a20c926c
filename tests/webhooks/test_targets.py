"""The SSRF guard: targets on private, loopback, link-local, multicast, reserved or
unspecified addresses are refused unless KEYHIVE_WEBHOOK_ALLOW_PRIVATE is set; the
check runs on creation and again on each connection, against the addresses connected to.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from keyhive import FrozenClock, InvalidInput, KeyHive, Settings
from keyhive.core.webhooks import TargetRefused
from keyhive.service.webhook_http import Guard, forbidden, make_client
from keyhive.service.webhook_sender import WebhookSender
from keyhive.storage import MemoryStore

from .conftest import MakeHive, subscribe
from .receiver import Receiver

STRICT = Settings(hashing_profile="cheapest")


@pytest.fixture
def strict(make_hive: MakeHive) -> KeyHive:
    """A hive without the setting (the default)."""
    return make_hive("memory://", settings=STRICT)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://127.9.9.9:8443/",
        "https://localhost/hook",
        "https://10.1.2.3/",
        "https://172.16.0.1/",
        "https://192.168.1.1/",
        "https://100.64.0.1/",  # shared address space (carrier-grade NAT)
        "https://169.254.169.254/latest/meta-data/",  # cloud metadata
        "https://0.0.0.0/",
        "https://224.0.0.1/",
        "https://[::1]/",
        "https://[fe80::1]/",
        "https://[fc00::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::]/",
        "https://2130706433/",  # 127.0.0.1 written as a number
    ],
)
def test_private_targets_are_refused_without_the_setting(strict: KeyHive, url: str) -> None:
    with pytest.raises(TargetRefused, match="KEYHIVE_WEBHOOK_ALLOW_PRIVATE"):
        strict.create_webhook(url, ["*"])
    assert strict.list_webhooks() == []


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://203.0.113.9/hook", "must be https"),
        ("ftp://example.com/", "https://"),
        ("file:///etc/passwd", "https://"),
        ("https://user:pass@hooks.example/", "credentials"),
        ("https://hooks.example/#frag", "fragment"),
        ("https:///nohost", "no host"),
        ("https://hooks.example:99999/", "cannot be read"),
        ("https://hooks .example/", "spaces"),
        ("https://" + "a" * 2100 + ".example/", "longer than"),
        ("", "must be a URL"),
    ],
)
def test_malformed_urls_are_clear_errors(strict: KeyHive, url: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why) as raised:
        strict.create_webhook(url, ["*"])
    assert raised.value.field == "url"


def test_a_host_that_does_not_resolve_yet_is_taken_and_checked_at_each_send(
    strict: KeyHive,
) -> None:
    """Its DNS may come later: it is accepted, and every connection is checked anyway."""

    def unknown(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    strict.webhook_resolver = unknown  # no name is looked up outside this machine
    assert strict.create_webhook("https://no-such-host.invalid/hook", ["*"]).webhook.enabled
    strict.webhook_resolver = lambda host, port: []
    assert strict.create_webhook("https://no-such-host.invalid/b", ["*"]).webhook.enabled
    strict.webhook_resolver = lambda host, port: ["10.0.0.7"]
    with pytest.raises(TargetRefused, match="KEYHIVE_WEBHOOK_ALLOW_PRIVATE"):
        strict.create_webhook("https://no-such-host.invalid/c", ["*"])


def test_a_public_address_passes(strict: KeyHive) -> None:
    strict.webhook_resolver = lambda host, port: ["93.184.216.34", "2606:2800:220:1::1"]
    created = strict.create_webhook("https://hooks.example/keyhive", ["secret.revoked"])
    assert created.webhook.url == "https://hooks.example/keyhive"
    strict.webhook_resolver = lambda host, port: ["93.184.216.34", "10.0.0.7"]
    with pytest.raises(TargetRefused):  # one private address among public ones is enough
        strict.create_webhook("https://mixed.example/keyhive", ["*"])


def test_with_the_setting_loopback_and_http_are_allowed(make_hive: MakeHive) -> None:
    hive = make_hive("memory://")  # webhook_allow_private=True
    assert hive.create_webhook("http://127.0.0.1:9/hook", ["*"]).webhook.url.startswith("http:")


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("8.8.8.8", False),
        ("2001:4860:4860::8888", False),
        ("127.0.0.1", True),
        ("::ffff:10.0.0.1", True),
        ("192.0.2.1", True),  # documentation
        ("fe80::1%eth0", True),
        ("not an address", True),
    ],
)
def test_which_addresses_are_forbidden(address: str, refused: bool) -> None:
    assert forbidden(address) is refused


def test_the_target_is_checked_again_when_sending(
    clock: FrozenClock,
    receiver: Receiver,
    make_hive: MakeHive,
    senders: Callable[..., WebhookSender],
) -> None:
    """Created while private targets were allowed; sent by a node where they are not."""
    store, keys = MemoryStore(), (("k1", b"k" * 32),)
    allowing = Settings(hashing_profile="cheapest", webhook_allow_private=True, peppers=keys)
    creating = make_hive("memory://", store=store, settings=allowing)
    subscribe(creating, receiver, "client.disabled")
    creating.disable_client(creating.create_client("acme").client_id)
    sending = make_hive("memory://", store=store, settings=Settings(peppers=keys))
    senders(sending).step()
    assert receiver.received == []
    (delivery,) = sending.webhook_deliveries(sending.list_webhooks()[0].webhook_id)
    assert delivery.status == "pending" and delivery.last_error is not None
    assert delivery.last_error.startswith("refused:")


def test_a_name_that_resolves_elsewhere_later_is_refused_at_connect(receiver: Receiver) -> None:
    """DNS rebinding: public when checked, loopback when connected. The guard checks the
    addresses the connection itself resolves and uses."""
    answers: Iterator[list[str]] = iter([["93.184.216.34"], ["127.0.0.1"]])

    def resolve(host: str, port: int) -> list[str]:
        assert host == "rebind.test"
        return next(answers)

    guard = Guard(allow_private=False, resolve=resolve)
    url = f"http://rebind.test:{receiver.port}/hook"
    guard.check_url(url)  # passes: a public address
    with make_client(guard, 2.0) as client, pytest.raises(TargetRefused):
        client.post(url, content=b"{}")
    assert receiver.received == []


def test_the_connection_goes_to_the_checked_address(receiver: Receiver) -> None:
    """With private targets allowed, a made-up name resolved by the guard reaches the
    receiver: the client connects to what the guard resolved, with the name as Host."""
    guard = Guard(allow_private=True, resolve=lambda host, port: ["127.0.0.1"])
    with make_client(guard, 2.0) as client:
        answer = client.post(f"http://rebind.test:{receiver.port}/hook", content=b"{}")
    assert answer.status_code == 400  # unsigned: the receiver refuses it
    assert receiver.received[0].headers["host"] == f"rebind.test:{receiver.port}"
