"""Scope validation and matching: what a grant covers and what a request may require."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyhive.core.errors import InvalidInput, InvalidScope
from keyhive.core.scopes import MAX_SCOPES, allows, covers, normalize_scopes, validate_scope

names = st.text(alphabet=string.ascii_letters + string.digits + "_.-/", min_size=1, max_size=12)
#: Resources of the protected API: keyhive's own namespace is tested on its own below.
resources = names.filter(lambda name: name != "keyhive")
scopes = st.builds(lambda r, a: f"{r}:{a}", resources, names)
scope_lists = st.lists(scopes, max_size=6)


@given(scope_lists)
def test_star_covers_everything(required: list[str]) -> None:
    assert allows(["*"], required)
    assert allows(["x:y", "*"], [*required, "*"])


@given(names, names, names)
def test_resource_wildcard_covers_its_own_actions(resource: str, action: str, other: str) -> None:
    granted = [f"{resource}:*"]
    assert allows(granted, [f"{resource}:{action}"])
    assert allows(granted, [f"{resource}:*"])
    if other != resource:
        assert not allows(granted, [f"{other}:{action}"])
    assert not allows(granted, ["*"])


@given(names, names)
def test_wildcard_does_not_cover_a_longer_resource_name(resource: str, action: str) -> None:
    """``r:*`` must not leak into ``rx:...``: the match is on the whole resource."""
    assert not covers(f"{resource}:*", f"{resource}x:{action}")
    assert not covers(f"{resource}x:*", f"{resource}:{action}")


@given(scopes, scopes)
def test_exact_scope_covers_itself_and_nothing_else(granted: str, required: str) -> None:
    assert covers(granted, granted)
    assert allows([granted], [granted])
    assert allows([granted], [required]) == (granted == required)


@given(scope_lists, scope_lists)
def test_allows_requires_every_required_scope(granted: list[str], required: list[str]) -> None:
    expected = all(r in granted for r in required)
    assert allows(granted, required) == expected
    # Allowed sets are closed under subsets of the requirement.
    if expected:
        for i in range(len(required)):
            assert allows(granted, required[:i])


@given(scope_lists)
def test_empty_requirement_is_always_allowed(granted: list[str]) -> None:
    assert allows(granted, [])
    assert allows((), ())


def test_allows_with_concrete_grants() -> None:
    granted = ["articles:create", "articles:update", "users:read"]
    assert allows(granted, ["articles:create", "users:read"])
    assert not allows(granted, ["articles:create", "users:write"])
    assert not allows(granted, ["articles:delete"])
    assert not allows(granted, ["articles:*"])
    assert allows(["articles:*"], ["articles:delete", "articles:read"])
    assert not allows(["articles:*"], ["articles:read", "users:read"])


def test_allows_reads_a_bare_string_as_one_scope() -> None:
    """A string is iterable; reading it character by character would answer nonsense."""
    assert allows("articles:*", "articles:read")
    assert allows(["articles:read"], "articles:read")
    assert not allows("articles:read", ["users:read"])
    assert not allows([":"], "a:b")


def test_allows_accepts_generators() -> None:
    assert allows((s for s in ["a:b", "c:d"]), (s for s in ["c:d"]))


@pytest.mark.parametrize("scope", ["*", "a:b", "articles:*", "keyhive:admin", "a.b-c/d_e:x.y"])
def test_validate_scope_accepts(scope: str) -> None:
    assert validate_scope(scope) == scope


@pytest.mark.parametrize(
    "scope",
    [
        "",
        "articles",
        ":read",
        "articles:",
        "a:b:c",
        "*:read",
        "a:**",
        "a :b",
        "a:b\n",
        "caf\u00e9:read",
        "x" * 65 + ":read",
        "\x00:\x01",
    ],
)
def test_validate_scope_rejects(scope: str) -> None:
    with pytest.raises(InvalidScope) as caught:
        validate_scope(scope)
    assert caught.value.field == "scopes"
    assert "\x00" not in str(caught.value)


@pytest.mark.parametrize("scope", [None, 1, b"a:b", ["a:b"]])
def test_validate_scope_rejects_non_strings(scope: object) -> None:
    with pytest.raises(InvalidScope, match="must be a string"):
        validate_scope(scope)


def test_normalize_scopes_sorts_and_deduplicates() -> None:
    assert normalize_scopes(["b:x", "a:y", "b:x"]) == ("a:y", "b:x")
    assert normalize_scopes("a:b") == ("a:b",)
    assert normalize_scopes(None) == ()
    assert normalize_scopes(()) == ()
    assert normalize_scopes({"a:b", "*"}) == ("*", "a:b")


@pytest.mark.parametrize("value", [5, b"a:b", {"a:b": 1}, object(), 1.5])
def test_normalize_scopes_rejects_non_lists(value: object) -> None:
    with pytest.raises(InvalidScope, match="list of strings"):
        normalize_scopes(value)


def test_normalize_scopes_limits_the_count() -> None:
    many = [f"r:a{i}" for i in range(MAX_SCOPES + 1)]
    assert len(normalize_scopes(many[:MAX_SCOPES])) == MAX_SCOPES
    with pytest.raises(InvalidScope, match=f"at most {MAX_SCOPES}"):
        normalize_scopes(many)
    # Duplicates do not count against the limit.
    assert normalize_scopes(["r:a"] * (MAX_SCOPES * 2)) == ("r:a",)


def test_invalid_scope_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        normalize_scopes(["nope"])


@pytest.mark.parametrize("own", ["keyhive:admin", "keyhive:verify", "keyhive:anything"])
def test_star_never_reaches_keyhives_own_scopes(own: str) -> None:
    assert not covers("*", own)
    assert not allows(["*"], [own])
    assert not allows(["*", "articles:read"], ["articles:read", own])
    assert allows(["keyhive:*"], [own])
    assert allows([own], [own])
    assert allows(["*"], ["articles:read"])
