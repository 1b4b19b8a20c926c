"""Token format, base62 and key generation, mostly as properties over many inputs."""

from __future__ import annotations

import base64
import math
import re
import string
import zlib

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from keyhive.core import tokens
from keyhive.core.errors import InvalidInput, KeyhiveError, MalformedToken
from keyhive.core.tokens import (
    BASE62,
    CHECKSUM_LENGTH,
    DEFAULT_PREFIX,
    ID_LENGTH,
    KEY_FORMATS,
    MAX_TOKEN_LENGTH,
    RANDOM_LENGTH,
    TOKEN_PATTERN,
    base62_decode,
    base62_encode,
    checksum,
    generate_key,
    is_secret_id,
    looks_like_token,
    make_token,
    new_secret_id,
    parse_token,
    random_base62,
    validate_prefix,
)

prefixes = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=2, max_size=16)
key_sizes = st.integers(min_value=16, max_value=256)
# Replacement characters: ASCII (including the separator and base62) plus a few look-alikes.
replacements = st.characters(codec="utf-8", max_codepoint=0x7F) | st.sampled_from(
    ["\u00e9", "\uff10", "\u0663", "\u017f", "\u212a", "\u200b", "\x00"]
)


@given(prefixes)
def test_make_then_parse_round_trips(prefix: str) -> None:
    made = make_token(prefix)
    parsed = parse_token(made.text)
    assert parsed == made
    assert parsed.prefix == prefix
    assert is_secret_id(parsed.secret_id)
    assert parsed.text.startswith(f"{prefix}_{parsed.secret_id}_")
    assert len(parsed.text) == len(prefix) + 2 + ID_LENGTH + RANDOM_LENGTH + 6
    assert len(parsed.text) <= MAX_TOKEN_LENGTH


@given(prefixes, st.data())
def test_any_single_character_change_is_rejected(prefix: str, data: st.DataObject) -> None:
    """CRC32 catches every error within 32 bits, so one changed character never passes."""
    token = make_token(prefix).text
    index = data.draw(st.integers(min_value=0, max_value=len(token) - 1), label="index")
    char = data.draw(replacements, label="char")
    assume(char != token[index])
    changed = token[:index] + char + token[index + 1 :]
    with pytest.raises(MalformedToken):
        parse_token(changed)
    assert not TOKEN_PATTERN.fullmatch(changed) or checksum(changed[:-6]) != changed[-6:]


@given(prefixes, st.integers(min_value=1, max_value=60))
def test_truncated_token_is_rejected(prefix: str, cut: int) -> None:
    token = make_token(prefix).text
    with pytest.raises(MalformedToken):
        parse_token(token[:-cut])
    assert not looks_like_token(token[:-cut])


@given(prefixes)
def test_token_is_found_in_surrounding_text(prefix: str) -> None:
    """The leak-scanning pattern finds a token inside a log line and verifies its checksum."""
    token = make_token(prefix).text
    line = f'2030-01-01 GET /v1 authorization="Bearer {token}" status=200'
    found = [m.group(0) for m in TOKEN_PATTERN.finditer(line)]
    assert found == [token]
    assert checksum(found[0][:-6]) == found[0][-6:]


@given(st.integers(min_value=0, max_value=2**600))
def test_base62_round_trips(number: int) -> None:
    text = base62_encode(number)
    assert set(text) <= set(BASE62)
    assert base62_decode(text) == number
    assert text == "" or text[0] != "0"


twelve_digits = st.integers(min_value=0, max_value=62**12 - 1)


@given(twelve_digits, twelve_digits)
def test_base62_fixed_width_sorts_like_the_numbers(a: int, b: int) -> None:
    """The alphabet is in ASCII order, so padded base62 strings sort as their values."""
    left, right = base62_encode(a, 12), base62_encode(b, 12)
    assert len(left) == len(right) == 12
    assert (left < right) == (a < b)
    assert base62_decode(left) == a


def test_base62_known_values() -> None:
    assert base62_encode(0) == ""
    assert base62_encode(0, 3) == "000"
    assert base62_encode(61) == "z"
    assert base62_encode(62) == "10"
    assert base62_encode(62**2 - 1, 6) == "0000zz"
    assert base62_decode("") == 0
    assert base62_decode("Zz") == 35 * 62 + 61


@pytest.mark.parametrize("text", ["-", "a b", "é", "+", "=", "_"])
def test_base62_decode_rejects_foreign_characters(text: str) -> None:
    with pytest.raises(ValueError, match="not base62"):
        base62_decode(text)


def test_base62_encode_rejects_negative_numbers() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        base62_encode(-1)


@given(st.integers(min_value=0, max_value=60))
def test_random_base62_has_exact_length(length: int) -> None:
    text = random_base62(length)
    assert len(text) == length
    assert set(text) <= set(BASE62)


@given(key_sizes)
def test_generate_key_base64_is_padded_like_node(size: int) -> None:
    key = generate_key(size, "base64")
    assert len(key) == 4 * math.ceil(size / 3)
    assert re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", key)
    assert key.endswith("=" * (-size % 3))
    assert len(base64.b64decode(key, validate=True)) == size


@given(key_sizes)
def test_generate_key_base64url_is_unpadded(size: int) -> None:
    key = generate_key(size, "base64url")
    assert len(key) == math.ceil(size * 4 / 3)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", key)
    assert len(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))) == size


@given(key_sizes)
def test_generate_key_hex(size: int) -> None:
    key = generate_key(size, "hex")
    assert re.fullmatch(r"[0-9a-f]+", key)
    assert len(bytes.fromhex(key)) == size


@given(key_sizes)
def test_generate_key_base62_has_fixed_width_and_fits_size_bytes(size: int) -> None:
    key = generate_key(size, "base62")
    assert set(key) <= set(BASE62)
    assert len(key) == math.ceil(size * 8 / math.log2(62))
    # The width must hold every value of `size` bytes, and no more than one extra digit.
    assert 62 ** len(key) >= 256**size > 62 ** (len(key) - 1)
    assert len(base62_decode(key).to_bytes(size, "big")) == size


def test_generate_key_default_is_the_articles_32_byte_base64() -> None:
    key = generate_key()
    assert len(key) == 44
    assert key.endswith("=")
    assert len(base64.b64decode(key, validate=True)) == 32


@pytest.mark.parametrize("fmt", KEY_FORMATS)
def test_generate_key_is_random(fmt: str) -> None:
    assert len({generate_key(16, fmt) for _ in range(20)}) == 20


@pytest.mark.parametrize("size", [15, 257, 0, -1, "32", 32.0, True, None])
def test_generate_key_rejects_bad_size(size: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        generate_key(size, "base64")  # type: ignore[arg-type]
    assert caught.value.field == "size"


@pytest.mark.parametrize("fmt", ["base32", "", "HEX", None, 64, ["hex"]])
def test_generate_key_rejects_bad_format(fmt: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        generate_key(32, fmt)  # type: ignore[arg-type]
    assert caught.value.field == "format"


def test_make_token_defaults_and_given_id() -> None:
    made = make_token()
    assert made.prefix == DEFAULT_PREFIX
    fixed = make_token("acme", secret_id="H6CZksPvnaqL1lsb")
    assert fixed.secret_id == "H6CZksPvnaqL1lsb"
    assert parse_token(fixed.text).secret_id == "H6CZksPvnaqL1lsb"
    assert make_token().text != made.text


@pytest.mark.parametrize("secret_id", ["", "short", "H6CZksPvnaqL1lsb0", "H6CZksPvnaqL1ls_"])
def test_make_token_rejects_bad_secret_id(secret_id: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_token(secret_id=secret_id)
    assert caught.value.field == "secret_id"


@given(st.text(max_size=20) | st.none() | st.integers())
def test_validate_prefix_accepts_exactly_the_documented_form(prefix: object) -> None:
    ok = isinstance(prefix, str) and re.fullmatch(r"[a-z0-9]{2,16}", prefix) is not None
    if ok:
        assert validate_prefix(prefix) == prefix
    else:
        with pytest.raises(InvalidInput):
            validate_prefix(prefix)
        with pytest.raises(InvalidInput):
            make_token(prefix)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, "token must be a string"),
        (b"kh_x", "token must be a string"),
        (42, "token must be a string"),
        (["kh_x"], "token must be a string"),
        ("x" * (MAX_TOKEN_LENGTH + 1), "token is too long"),
        ("", "token does not have the form <prefix>_<id>_<random><checksum>"),
        ("kh_H6CZksPvnaqL1lsb", "token does not have the form <prefix>_<id>_<random><checksum>"),
    ],
)
def test_parse_token_reasons(token: object, reason: str) -> None:
    with pytest.raises(MalformedToken) as caught:
        parse_token(token)
    assert caught.value.reason == reason
    assert caught.value.field == "token"
    assert isinstance(caught.value, KeyhiveError)
    assert isinstance(caught.value, ValueError)


def test_parse_token_rejects_trailing_newline_and_uppercase_prefix() -> None:
    token = make_token().text
    for bad in (token + "\n", " " + token, "KH" + token[2:]):
        with pytest.raises(MalformedToken):
            parse_token(bad)


def test_parsed_token_repr_hides_the_secret() -> None:
    made = make_token()
    shown = repr(made)
    assert made.secret_id in shown
    assert made.text not in shown
    assert made.text[-49:] not in shown


def test_new_secret_id_and_is_secret_id() -> None:
    ident = new_secret_id()
    assert is_secret_id(ident)
    assert len(ident) == ID_LENGTH
    assert not is_secret_id(ident[:-1])
    assert not is_secret_id(ident + "x")
    assert not is_secret_id(None)
    assert not is_secret_id(12)


def test_looks_like_token_is_cheap_shape_check_only() -> None:
    token = make_token().text
    bad_checksum = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert looks_like_token(token)
    assert looks_like_token(bad_checksum)  # the checksum is parse_token's job
    assert not looks_like_token("Jj0fmQUis7xKJ6oge4r1fN4em7xJ+hILrgubKlG6PLA=")
    assert not looks_like_token("x" * (MAX_TOKEN_LENGTH + 1))


@given(st.text(alphabet=string.ascii_letters + string.digits + "_", max_size=80))
def test_checksum_is_the_crc32_in_six_base62_digits(body: str) -> None:
    # checksum() reads base62 digits from a table of pairs; this pins it to the definition.
    assert checksum(body) == base62_encode(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


@pytest.mark.parametrize("crc", [0, 1, 61, 62, 3843, 3844, 62**4 - 1, 62**4, 2**32 - 1])
def test_checksum_digits_at_the_edges(crc: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens.zlib, "crc32", lambda _data: crc)
    assert checksum("any") == base62_encode(crc, CHECKSUM_LENGTH)
