"""Human durations for expiry and grace periods."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyhive.core.durations import format_duration, parse_duration
from keyhive.core.errors import InvalidDuration, InvalidInput

HUNDRED_YEARS = timedelta(days=36500)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("24h", timedelta(hours=24)),
        ("15m", timedelta(minutes=15)),
        ("30s", timedelta(seconds=30)),
        ("2w", timedelta(weeks=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        ("90D", timedelta(days=90)),
        (" 24h ", timedelta(hours=24)),
        ("3600", timedelta(hours=1)),
        ("0", timedelta(0)),
        ("36500d", HUNDRED_YEARS),
        (str(36500 * 86400), HUNDRED_YEARS),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "soon",
        "d",
        "1.5h",
        "-5m",
        "-5",
        "1h 30m",
        "1y",
        "1h1h1h1h1h1h",
        "1234567890s",
        "\u00b2",  # superscript two: str.isdigit() says yes, int() says no
        "\u0661\u0662h",  # Arabic-Indic digits
        "x" * 65,
        "9" * 64,
        "999999999w",
        "36501d",
        str(36500 * 86400 + 1),
    ],
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(InvalidDuration) as caught:
        parse_duration(text)
    assert isinstance(caught.value, InvalidInput)


@pytest.mark.parametrize("value", [None, 90, 1.5, b"90d", ["90d"], True])
def test_parse_duration_rejects_non_text(value: object) -> None:
    with pytest.raises(InvalidDuration, match="must be text"):
        parse_duration(value)


def test_parse_duration_passes_a_timedelta_through_within_limits() -> None:
    assert parse_duration(timedelta(hours=3)) == timedelta(hours=3)
    assert parse_duration(timedelta(0)) == timedelta(0)
    assert parse_duration(HUNDRED_YEARS) == HUNDRED_YEARS
    with pytest.raises(InvalidDuration, match="100 years"):
        parse_duration(HUNDRED_YEARS + timedelta(seconds=1))
    with pytest.raises(InvalidDuration, match="negative"):
        parse_duration(timedelta(seconds=-1))


def test_rejection_message_does_not_echo_long_input() -> None:
    with pytest.raises(InvalidDuration) as caught:
        parse_duration("nonsense-" + "q" * 50)
    assert "q" * 30 not in str(caught.value)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(days=90), "90d"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(weeks=1, seconds=1), "7d1s"),
        (timedelta(seconds=59.9), "59s"),
        (timedelta(seconds=-90), "-1m30s"),
    ],
)
def test_format_duration(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


@given(st.integers(min_value=0, max_value=36500 * 86400))
def test_format_then_parse_round_trips(seconds: int) -> None:
    delta = timedelta(seconds=seconds)
    text = format_duration(delta)
    assert parse_duration(text) == delta
    assert parse_duration(str(seconds)) == delta
