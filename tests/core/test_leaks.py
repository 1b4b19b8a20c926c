"""The leak finder: real tokens are found wherever they sit, look-alikes never, in pieces too."""

from __future__ import annotations

import dataclasses
import itertools
import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyhive.core.leaks import (
    LeakStatus,
    StreamFinder,
    clean_reason,
    find_in_pieces,
    find_tokens,
    mask,
    redact,
    status_of,
)
from keyhive.core.model import Secret
from keyhive.core.tokens import checksum, make_token

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def broken(token: str) -> str:
    """The token with its last checksum character changed: same shape, wrong checksum."""
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


def random_part(token: str) -> str:
    return token.rsplit("_", 1)[1][:-6]


def test_finds_each_token_with_its_place() -> None:
    first, second = make_token().text, make_token("acme").text
    text = f"KEY={first}\n\n  other: '{second}' # end\n"
    found = list(find_in_pieces([text]))
    assert [(m.token.text, m.line, m.column) for m in found] == [
        (first, 1, 5),
        (second, 3, 11),
    ]


@pytest.mark.parametrize(
    "template",
    [
        "API_KEY_{t}",  # after an underscore: TOKEN_PATTERN's \b would miss it
        "tokenkh{rest}",  # glued to letters that could be part of a prefix
        "{t}.",
        '"{t}"',
        "https://x.test/?key={t}&a=1",
        "{t}_suffix",
    ],
)
def test_finds_tokens_in_any_surroundings(template: str) -> None:
    token = make_token().text
    text = template.format(t=token, rest=token[2:])
    assert [t.text for _, _, t in find_tokens(text)] == [token]


@pytest.mark.parametrize(
    "text",
    [
        "kh_" + "A" * 16 + "_" + "B" * 49,  # the shape, a made-up checksum
        "kh_H6CZksPvnaqL1lsb_vjZktzmvey7FLgxsnigPmwxUzFWQjdK3m2mcM5INWzb1noLtLx",  # one too many
        "",
        "no tokens here at all",
    ],
)
def test_reports_nothing_without_a_valid_checksum(text: str) -> None:
    assert list(find_tokens(text)) == []


def test_a_look_alike_with_a_broken_checksum_is_not_reported() -> None:
    real = make_token().text
    text = f"{broken(real)} {real} {broken(make_token().text)}"
    assert [t.text for _, _, t in find_tokens(text)] == [real]


def test_a_token_glued_to_more_base62_is_not_a_token() -> None:
    assert list(find_tokens(make_token().text + "Z")) == []


def test_letters_before_a_prefix_are_tried_off_until_the_checksum_holds() -> None:
    token = make_token("ab").text
    body = "x" + token[:-6]  # "xab_...": a different prefix, so the old checksum fails
    assert list(find_tokens(body + token[-6:]))[0][2].prefix == "ab"
    forged = body + checksum(body)
    assert [t.prefix for _, _, t in find_tokens(forged)] == ["xab"]


@given(
    filler=st.text(alphabet=string.printable, max_size=200),
    cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=12),
)
def test_pieces_of_any_size_find_what_the_whole_text_finds(filler: str, cuts: list[int]) -> None:
    tokens = [make_token().text for _ in range(3)]
    text = f"{filler}{tokens[0]}\n{filler[:7]}{tokens[1]} {broken(tokens[2])}{tokens[2]}{filler}"
    bounds = sorted({c for c in cuts if c < len(text)} | {0, len(text)})
    pieces = [text[a:b] for a, b in itertools.pairwise(bounds)]
    whole = [(m.token.text, m.line, m.column) for m in find_in_pieces([text])]
    assert [(m.token.text, m.line, m.column) for m in find_in_pieces(pieces)] == whole
    assert [w[0] for w in whole].count(tokens[1]) == 1


def test_one_character_at_a_time_keeps_lines_and_columns() -> None:
    token = make_token().text
    text = "a\nbb\nccc " + token + "\n" + token
    finder = StreamFinder()
    found = [m for char in text for m in finder.feed(char)] + finder.finish()
    assert [(m.line, m.column) for m in found] == [(3, 5), (4, 1)]


def test_the_finder_holds_no_more_than_a_piece_and_a_token() -> None:
    finder = StreamFinder()
    for _ in range(50):
        finder.feed("x" * 10_000)
        assert len(finder._buffer) <= 100


def test_masked_form_shows_prefix_and_id_only() -> None:
    token = make_token()
    shown = mask(token)
    assert shown == f"kh_{token.secret_id}_…"
    assert random_part(token.text)[:12] not in shown
    [(_, _, found)] = find_tokens(token.text)
    assert repr(found).count(token.text) == 0


def test_redact_masks_every_token_and_keeps_the_rest() -> None:
    first, second = make_token(), make_token()
    text = f"see {first.text} and {second.text}."
    assert redact(text) == f"see {mask(first)} and {mask(second)}."


def test_clean_reason_masks_tokens_strips_controls_and_fits() -> None:
    token = make_token()
    assert clean_reason(f"https://x.test/{token.text}\n") == f"https://x.test/{mask(token)}"
    assert clean_reason("") == "leaked"
    assert clean_reason(" \x00 ") == "leaked"
    long = clean_reason("u" * 2000)
    assert len(long) == 500 and long.endswith("…")


def _secret() -> Secret:
    return Secret("s" * 16, "c", None, (), "kh", NOW - timedelta(days=1))


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({}, LeakStatus.ACTIVE),
        ({"revoked_at": NOW + timedelta(hours=1)}, LeakStatus.ACTIVE),  # in its grace period
        ({"revoked_at": NOW - timedelta(seconds=1)}, LeakStatus.REVOKED),
        ({"expires_at": NOW}, LeakStatus.EXPIRED),
        ({"expires_at": NOW, "revoked_at": NOW}, LeakStatus.REVOKED),
    ],
)
def test_status_of_a_matched_secret(changes: dict[str, object], status: LeakStatus) -> None:
    assert status_of(dataclasses.replace(_secret(), **changes), NOW) is status  # type: ignore[arg-type]


def test_status_of_no_secret_is_unknown() -> None:
    assert status_of(None, NOW) is LeakStatus.UNKNOWN
