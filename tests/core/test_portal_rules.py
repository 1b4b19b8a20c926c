"""The rules of a portal session's parameters and of the portal's branding settings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from keyhive import Settings
from keyhive.core import portal as rules
from keyhive.core.branding import Branding
from keyhive.core.errors import ConfigurationError, InvalidInput, InvalidScope


@pytest.mark.parametrize(
    "scopes", [["keyhive:*"], ["keyhive:admin"], ["a:b", "keyhive:verify"], [], ["not a scope"]]
)
def test_allowed_scopes_refuse_keyhives_own_and_nothing(scopes: list[str]) -> None:
    with pytest.raises(InvalidScope):
        rules.check_allowed_scopes(scopes)


def test_allowed_scopes_are_normalised() -> None:
    assert rules.check_allowed_scopes(["b:x", "a:y", "b:x", "*"]) == ("*", "a:y", "b:x")


def test_a_grant_is_among_the_allowed_scopes_exactly() -> None:
    allowed = ("articles:*", "users:read")
    assert rules.check_grant(["users:read"], allowed) == ("users:read",)
    # articles:* would cover articles:read, but the portal offers the listed scopes only.
    for chosen in (["articles:read"], ["users:write"], ["*"], ["keyhive:admin"], []):
        with pytest.raises(InvalidScope):
            rules.check_grant(chosen, allowed)
    with pytest.raises(InvalidScope):
        rules.check_grant(["keyhive:admin"], ("keyhive:admin",))  # even if forged in


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://example.com/",
        "/account",
        "//example.com/account",
        "https://user:pass@example.com/",
        "https://example.com/a b",
        "https://exa\nmple.com/",
        "https://",
        "https://example.com:99999/",
        "https://" + "a" * 2100 + ".com/",
    ],
)
def test_return_urls_must_be_absolute_http_without_credentials(url: str) -> None:
    with pytest.raises(InvalidInput):
        rules.check_return_url(url)


def test_good_return_urls_pass_unchanged() -> None:
    for url in ("https://app.example.com/account?tab=keys#top", "http://localhost:8000/account"):
        assert rules.check_return_url(url) == url
    assert rules.check_return_url(None) is None


def test_ttl_from_one_minute_to_a_day() -> None:
    assert rules.check_ttl("15m") == timedelta(minutes=15)
    assert rules.check_ttl("24h") == timedelta(hours=24)
    for bad in ("30s", "24h1s", "2d", "0", "soon"):
        with pytest.raises(InvalidInput):
            rules.check_ttl(bad)


def test_grace_at_most_a_week_and_max_secrets_a_whole_number() -> None:
    assert rules.check_grace("7d") == timedelta(days=7)
    with pytest.raises(InvalidInput):
        rules.check_grace("8d")
    assert rules.check_max_secrets(0) == 0 and rules.check_max_secrets(None) is None
    for bad in (-1, 10_001, 2.0, True, "3"):
        with pytest.raises(InvalidInput):
            rules.check_max_secrets(bad)


def test_codes_are_random_and_only_their_digest_is_kept() -> None:
    codes = {rules.new_code() for _ in range(100)}
    assert len(codes) == 100 and all(rules.looks_like_code(c) for c in codes)
    code = codes.pop()
    digest = rules.code_digest(code)
    assert len(digest) == 64 and code not in digest
    for junk in ("", "x" * 42, "x" * 44, "a" * 42 + "/", "é" * 43):
        assert not rules.looks_like_code(junk)


def test_an_owner_leaves_room_for_the_actor_prefix() -> None:
    assert len(rules.ACTOR_PREFIX + "o" * rules.MAX_OWNER) == 200
    with pytest.raises(InvalidInput):
        rules.check_owner("o" * (rules.MAX_OWNER + 1))


# -- branding -----------------------------------------------------------------------------


def _brand(**env: str) -> Branding:
    return Settings.from_env(env).branding()


def test_branding_defaults() -> None:
    assert _brand() == Branding("keyhive", None, "#1b7f4b")


def test_branding_from_the_environment() -> None:
    brand = _brand(
        KEYHIVE_PORTAL_NAME="Articles API",
        KEYHIVE_PORTAL_LOGO="/assets/logo.svg",
        KEYHIVE_PORTAL_ACCENT="#F60",
    )
    assert brand == Branding("Articles API", "/assets/logo.svg", "#f60")
    assert brand.accent_ink == "#000000"  # black reads better on orange
    assert Branding(accent="#12261b").accent_ink == "#ffffff"


@pytest.mark.parametrize("accent", ["red", "#12", "#12345", "#gggggg", "#1b7f4b;}body{", "1b7f4b"])
def test_the_accent_must_be_a_css_hex_colour(accent: str) -> None:
    with pytest.raises(ConfigurationError, match="KEYHIVE_PORTAL_ACCENT"):
        _brand(KEYHIVE_PORTAL_ACCENT=accent)


def test_the_logo_is_served_by_keyhive_itself() -> None:
    assert _brand(KEYHIVE_PORTAL_LOGO="logo.png").logo == "logo.png"
    same = _brand(
        KEYHIVE_PORTAL_LOGO="https://keys.example.com/logo.png",
        KEYHIVE_PUBLIC_URL="https://keys.example.com",
    )
    assert same.logo == "https://keys.example.com/logo.png"
    for logo in (
        "https://cdn.example.net/logo.png",
        "//cdn.example.net/logo.png",
        "/\\cdn.example.net/logo.png",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        '/logo.png" onerror="x',
    ):
        with pytest.raises(ConfigurationError, match="KEYHIVE_PORTAL_LOGO"):
            _brand(KEYHIVE_PORTAL_LOGO=logo, KEYHIVE_PUBLIC_URL="https://keys.example.com")


def test_the_public_url_is_checked() -> None:
    assert Settings.from_env({"KEYHIVE_PUBLIC_URL": "https://k.example/"}).public_base() == (
        "https://k.example"
    )
    for bad in ("k.example", "https://k.example/?a=1", "ftp://k.example"):
        with pytest.raises(ConfigurationError, match="KEYHIVE_PUBLIC_URL"):
            Settings.from_env({"KEYHIVE_PUBLIC_URL": bad}).public_base()


def test_the_name_is_printable_and_short() -> None:
    for name in ("x" * 81, "Articles\x00API"):
        with pytest.raises(ConfigurationError, match="KEYHIVE_PORTAL_NAME"):
            _brand(KEYHIVE_PORTAL_NAME=name)
