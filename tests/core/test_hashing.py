"""Hashers and the keyring: string formats, mismatches, pepper rotation and needs-rehash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import sys

import argon2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyhive.core.errors import (
    ConfigurationError,
    HashError,
    KeyhiveError,
    UnknownHashFormat,
    VerifyMismatch,
)
from keyhive.core.hashing import (
    HASHER_NAMES,
    PROFILES,
    SCRYPT_CHEAPEST,
    SCRYPT_DEFAULT,
    Argon2Hasher,
    Hasher,
    Hashing,
    HmacHasher,
    ScryptHasher,
    ScryptParams,
    SeedScryptHasher,
    make_hashing,
    parse_peppers,
)
from keyhive.core.tokens import make_token

PEPPER_A = ("2029", b"first-pepper-0123456789")
PEPPER_B = ("2030", b"second-pepper-0123456789")
SECRET = make_token().text
# A Node-made record (tests/vectors/seed_scrypt.json style): the article's example.
SEED_SECRET = "Jj0fmQUis7xKJ6oge4r1fN4em7xJ+hILrgubKlG6PLA="
SEED_STORED = (
    "c10c7e79fc496144ee245d9dcbe52d9d3910c2a514af1cfe8afda9ea655815ef"
    "ed5bd2a793b31bf923fe47d212bab7896cd527c720849678077e34cdd6fec0a2.2f717b397644fdcc"
)
PHC = re.compile(r"\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)")
HMAC = re.compile(r"\$hmac-sha256\$k=([^$]+)\$([A-Za-z0-9+/]{43})")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def _cheap_hashers() -> list[Hasher]:
    return [
        ScryptHasher(SCRYPT_CHEAPEST),
        HmacHasher([PEPPER_A]),
        Argon2Hasher("CHEAPEST"),
    ]


# -- scrypt (PHC) -------------------------------------------------------------------------------


@pytest.mark.slow
def test_scrypt_default_string_has_documented_parameters() -> None:
    """New secrets get the article's cost (N=2**14, r=8, p=1) in the PHC format."""
    hasher = ScryptHasher()
    stored = hasher.hash(SECRET)
    match = PHC.fullmatch(stored)
    assert match is not None
    assert match.group(1, 2, 3) == ("14", "8", "1")
    assert len(base64.b64decode(match.group(4) + "==")) == SCRYPT_DEFAULT.salt_length
    assert len(base64.b64decode(match.group(5) + "=")) == SCRYPT_DEFAULT.key_length
    hasher.verify(stored, SECRET)
    with pytest.raises(VerifyMismatch):
        hasher.verify(stored, SECRET[:-1])
    assert not hasher.needs_rehash(stored)


def test_scrypt_reads_an_independently_made_phc_string() -> None:
    """The salt is raw bytes (not its text) and the cost comes from the string itself."""
    salt = bytes(range(16))
    digest = hashlib.scrypt(b"s3cret", salt=salt, n=2**5, r=2, p=3, dklen=40)
    stored = f"$scrypt$ln=5,r=2,p=3${_b64(salt)}${_b64(digest)}"
    hasher = ScryptHasher(SCRYPT_CHEAPEST)
    assert hasher.identifies(stored)
    hasher.verify(stored, "s3cret")
    with pytest.raises(VerifyMismatch):
        hasher.verify(stored, "s3creT")
    assert hasher.needs_rehash(stored)


def test_scrypt_salts_every_hash() -> None:
    hasher = ScryptHasher(SCRYPT_CHEAPEST)
    first, second = hasher.hash(SECRET), hasher.hash(SECRET)
    assert first != second
    assert PHC.fullmatch(first)
    assert first.startswith("$scrypt$ln=4,r=1,p=1$")
    hasher.verify(first, SECRET)
    hasher.verify(second, SECRET)


def test_scrypt_needs_rehash_when_parameters_differ() -> None:
    cheap = ScryptHasher(SCRYPT_CHEAPEST)
    other = ScryptHasher(ScryptParams(ln=5, r=1, p=1, key_length=32))
    longer_key = ScryptHasher(ScryptParams(ln=4, r=1, p=1, key_length=64))
    stored = cheap.hash(SECRET)
    assert not cheap.needs_rehash(stored)
    assert other.needs_rehash(stored)
    assert longer_key.needs_rehash(stored)
    # Reading still works whatever the current parameters are.
    other.verify(stored, SECRET)
    assert cheap.needs_rehash("$scrypt$garbage")


@pytest.mark.parametrize(
    "stored",
    [
        "$scrypt$ln=0,r=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,
        "$scrypt$ln=23,r=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,
        "$scrypt$ln=4,r=0,p=1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,
        "$scrypt$ln=4,r=65,p=1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,
        "$scrypt$ln=4,r=1,p=17$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,
        "$scrypt$ln=4,r=1,p=1$AAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,  # 21 chars: not base64
        "$scrypt$ln=4,r=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 45,  # 45 chars: not base64
        "$scrypt$ln=4,r=1,p=1$AAAA$" + "A" * 43,
        "$scrypt$ln=4,r=1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,
        "$scrypt$",
    ],
)
def test_scrypt_rejects_unreadable_strings(stored: str) -> None:
    hasher = ScryptHasher(SCRYPT_CHEAPEST)
    with pytest.raises(UnknownHashFormat):
        hasher.verify(stored, SECRET)
    assert hasher.needs_rehash(stored)


def test_scrypt_does_not_identify_other_formats() -> None:
    hasher = ScryptHasher(SCRYPT_CHEAPEST)
    assert not hasher.identifies(SEED_STORED)
    assert not hasher.identifies(HmacHasher([PEPPER_A]).hash(SECRET))
    with pytest.raises(UnknownHashFormat):
        hasher.verify(SEED_STORED, SEED_SECRET)


def test_scrypt_params_derived_values() -> None:
    assert SCRYPT_DEFAULT.n == 16384
    assert SCRYPT_CHEAPEST.n == 16
    assert SCRYPT_DEFAULT.maxmem > 128 * SCRYPT_DEFAULT.r * SCRYPT_DEFAULT.n


# -- every hasher: the same contract ----------------------------------------------------------


@pytest.mark.parametrize("hasher", _cheap_hashers(), ids=lambda h: h.name)
def test_hasher_contract(hasher: Hasher) -> None:
    assert isinstance(hasher, Hasher)
    stored = hasher.hash(SECRET)
    assert hasher.identifies(stored)
    assert SECRET not in stored
    hasher.verify(stored, SECRET)
    assert not hasher.needs_rehash(stored)
    with pytest.raises(VerifyMismatch):
        hasher.verify(stored, SECRET.swapcase())
    with pytest.raises(VerifyMismatch):
        hasher.verify(stored, "")


@pytest.mark.parametrize("hasher", [*_cheap_hashers(), SeedScryptHasher()], ids=lambda h: h.name)
@pytest.mark.parametrize("bad", [None, 42, b"secret", ["s"], "\ud800", "x" * 5000, "\x00"])
def test_hasher_answers_mismatch_for_any_presented_value(hasher: Hasher, bad: object) -> None:
    """Presented secrets are untrusted: any odd value is a mismatch, never another error."""
    stored = SEED_STORED if isinstance(hasher, SeedScryptHasher) else hasher.hash(SECRET)
    with pytest.raises(VerifyMismatch):
        hasher.verify(stored, bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("hasher", _cheap_hashers(), ids=lambda h: h.name)
def test_hasher_handles_any_unicode_secret(hasher: Hasher) -> None:
    """Secrets are encoded as UTF-8; a lone surrogate hashes too instead of raising."""
    for secret in ["p\u00e4ss w\u00f6rd \U0001f511", "\ud800x", "\x00"]:
        stored = hasher.hash(secret)
        hasher.verify(stored, secret)
        with pytest.raises(VerifyMismatch):
            hasher.verify(stored, secret + "!")


@pytest.mark.parametrize("hasher", _cheap_hashers(), ids=lambda h: h.name)
def test_verify_mismatch_is_a_keyhive_error(hasher: Hasher) -> None:
    with pytest.raises(KeyhiveError) as caught:
        hasher.verify(hasher.hash("a"), "b")
    assert isinstance(caught.value, HashError)
    assert str(caught.value) != "b"


# -- hmac-sha256 --------------------------------------------------------------------------------


def test_hmac_string_is_keyed_with_the_newest_pepper() -> None:
    hasher = HmacHasher([PEPPER_A, PEPPER_B])
    stored = hasher.hash(SECRET)
    match = HMAC.fullmatch(stored)
    assert match is not None
    assert match.group(1) == PEPPER_B[0]
    expected = hmac.new(PEPPER_B[1], SECRET.encode(), hashlib.sha256).digest()
    assert match.group(2) == _b64(expected)
    assert hasher.hash(SECRET) == stored  # keyed, not salted: deterministic


def test_hmac_pepper_rotation() -> None:
    old = HmacHasher([PEPPER_A])
    rotated = HmacHasher([PEPPER_A, PEPPER_B])
    stored_old = old.hash(SECRET)
    rotated.verify(stored_old, SECRET)
    assert rotated.needs_rehash(stored_old)
    stored_new = rotated.hash(SECRET)
    assert stored_new != stored_old
    assert not rotated.needs_rehash(stored_new)
    with pytest.raises(VerifyMismatch):
        rotated.verify(stored_old, SECRET + "x")


def test_hmac_unknown_pepper_is_unknown_format() -> None:
    stored = HmacHasher([PEPPER_A]).hash(SECRET)
    retired = HmacHasher([PEPPER_B])
    with pytest.raises(UnknownHashFormat):
        retired.verify(stored, SECRET)
    assert not Hashing(retired).matches(stored, SECRET)


def test_hmac_same_id_other_value_does_not_verify() -> None:
    stored = HmacHasher([PEPPER_A]).hash(SECRET)
    with pytest.raises(VerifyMismatch):
        HmacHasher([(PEPPER_A[0], b"some-other-value-0000")]).verify(stored, SECRET)


def test_hmac_accepts_a_mapping_oldest_first() -> None:
    hasher = HmacHasher(dict([PEPPER_A, PEPPER_B]))
    assert hasher.hash(SECRET).startswith(f"$hmac-sha256$k={PEPPER_B[0]}$")


@pytest.mark.parametrize(
    "stored",
    ["$hmac-sha256$k=2029$short", "$hmac-sha256$k=$" + "A" * 43, "$hmac-sha256$" + "A" * 43, ""],
)
def test_hmac_rejects_unreadable_strings(stored: str) -> None:
    hasher = HmacHasher([PEPPER_A])
    with pytest.raises(UnknownHashFormat):
        hasher.verify(stored, SECRET)
    assert hasher.needs_rehash(stored)


@pytest.mark.parametrize(
    "peppers",
    [
        [],
        {},
        [("bad id", b"0123456789abcdef")],
        [("a$b", b"0123456789abcdef")],
        [("x" * 33, b"0123456789abcdef")],
        [("ok", "not-bytes-0123456789")],
        [("ok", b"")],
    ],
)
def test_hmac_rejects_bad_peppers(peppers: object) -> None:
    with pytest.raises(ConfigurationError):
        HmacHasher(peppers)  # type: ignore[arg-type]


def test_parse_peppers_reads_oldest_first() -> None:
    text = " 2029=first-pepper-0123456789 , 2030=second=with=equals-0123,"
    assert parse_peppers(text) == [
        ("2029", b"first-pepper-0123456789"),
        ("2030", b"second=with=equals-0123"),
    ]
    assert parse_peppers("") == []
    assert parse_peppers(" , ") == []
    assert parse_peppers("k=\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9" * 2) == [
        ("k", ("\u00e9" * 8 + "k=" + "\u00e9" * 8).encode())
    ]


@pytest.mark.parametrize(
    "text",
    [
        "no-equals-sign-at-all-here",
        "a=short",
        "=0123456789abcdef",
        "bad id=0123456789abcdef",
        "x" * 33 + "=0123456789abcdef",
        "a=0123456789abcdef,a=fedcba9876543210",
    ],
)
def test_parse_peppers_rejects(text: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_peppers(text)
    assert "0123456789abcdef" not in str(caught.value)


# -- argon2id -----------------------------------------------------------------------------------


def test_argon2_profiles_and_rehash() -> None:
    cheap = Argon2Hasher("CHEAPEST")
    stored = cheap.hash(SECRET)
    assert stored.startswith("$argon2id$")
    assert cheap.identifies(stored)
    assert Argon2Hasher(argon2.profiles.CHEAPEST).needs_rehash(stored) is False
    assert Argon2Hasher().needs_rehash(stored) is True
    assert cheap.needs_rehash("not argon2") is True


@pytest.mark.parametrize(
    "stored", ["$argon2id$garbage", "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$", "$argon2id$"]
)
def test_argon2_rejects_unreadable_strings(stored: str) -> None:
    with pytest.raises(UnknownHashFormat):
        Argon2Hasher("CHEAPEST").verify(stored, SECRET)


@pytest.mark.parametrize("profile", ["NOPE", "__name__", "Parameters", ""])
def test_argon2_unknown_profile_is_a_configuration_error(profile: str) -> None:
    with pytest.raises(ConfigurationError):
        Argon2Hasher(profile)


# -- the keyring ------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", HASHER_NAMES)
def test_make_hashing_current_hasher(name: str, profile: str) -> None:
    hashing = make_hashing(name, peppers=[PEPPER_A], profile=profile)
    assert hashing.name == name
    assert hashing.current.name == name
    stored = hashing.hash(SECRET)
    assert hashing.reader(stored) is hashing.current
    assert hashing.matches(stored, SECRET) is True
    assert hashing.matches(stored, SECRET[::-1]) is False
    assert hashing.needs_rehash(stored) is False


def test_make_hashing_profiles_set_the_cost() -> None:
    assert make_hashing("scrypt", profile="cheapest").hash("x").startswith("$scrypt$ln=4,r=1,p=1$")
    assert make_hashing("scrypt").hash("x").startswith("$scrypt$ln=14,r=8,p=1$")
    assert "m=8,t=1,p=1" in make_hashing("argon2id", profile="cheapest").hash("x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hasher": "md5"}, "unknown hasher"),
        ({"hasher": "seed"}, "unknown hasher"),
        ({"hasher": ""}, "unknown hasher"),
        ({"hasher": "scrypt", "profile": "fast"}, "unknown hashing profile"),
        ({"hasher": "hmac-sha256"}, "pepper"),
    ],
)
def test_make_hashing_configuration_errors(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make_hashing(**kwargs)


def test_make_hashing_without_the_argon2_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 is optional: scrypt works without it, asking for argon2id says what to install."""
    stored = Argon2Hasher("CHEAPEST").hash(SECRET)
    monkeypatch.setitem(sys.modules, "argon2", None)
    hashing = make_hashing("scrypt", profile="cheapest")
    assert hashing.matches(hashing.hash(SECRET), SECRET)
    assert hashing.matches(stored, SECRET) is False
    with pytest.raises(ConfigurationError, match=r"keyhive\[argon2\]"):
        make_hashing("argon2id", profile="cheapest")


def test_keyring_reads_every_format() -> None:
    """Whatever the current hasher, strings from the others keep verifying."""
    hashing = make_hashing("scrypt", peppers=[PEPPER_A], profile="cheapest")
    others = [HmacHasher([PEPPER_A]).hash(SECRET), Argon2Hasher("CHEAPEST").hash(SECRET)]
    for stored in others:
        assert hashing.matches(stored, SECRET)
        assert hashing.needs_rehash(stored)
    assert hashing.matches(SEED_STORED, SEED_SECRET)
    assert isinstance(hashing.reader(SEED_STORED), SeedScryptHasher)


def test_needs_rehash_seed_and_other_scrypt_costs() -> None:
    cheap = make_hashing("scrypt", profile="cheapest")
    default = make_hashing("scrypt")
    assert cheap.needs_rehash(SEED_STORED) is True
    assert default.needs_rehash(SEED_STORED) is True
    stored = cheap.hash(SECRET)
    assert cheap.needs_rehash(stored) is False
    assert default.needs_rehash(stored) is True
    assert default.matches(stored, SECRET)


def test_needs_rehash_after_pepper_rotation_through_the_keyring() -> None:
    before = make_hashing("hmac-sha256", peppers=[PEPPER_A], profile="cheapest")
    after = make_hashing("hmac-sha256", peppers=[PEPPER_A, PEPPER_B], profile="cheapest")
    stored = before.hash(SECRET)
    assert after.matches(stored, SECRET)
    assert after.needs_rehash(stored)
    assert not after.needs_rehash(after.hash(SECRET))


def test_keyring_unreadable_string() -> None:
    hashing = make_hashing("scrypt", profile="cheapest")
    with pytest.raises(UnknownHashFormat, match="no configured hasher"):
        hashing.verify("plain-text-password", SECRET)
    assert hashing.matches("plain-text-password", SECRET) is False
    assert hashing.matches("", "") is False
    # A stored hmac string with no pepper configured is unreadable, not a crash.
    assert hashing.matches(HmacHasher([PEPPER_A]).hash(SECRET), SECRET) is False
    with pytest.raises(VerifyMismatch):
        hashing.verify(hashing.hash(SECRET), "wrong")


@pytest.mark.parametrize("presented", [SECRET, "", None, 7, b"x", "\ud800", "x" * 100_000])
def test_dummy_verify_never_raises(presented: object) -> None:
    make_hashing("scrypt", profile="cheapest").dummy_verify(presented)  # type: ignore[arg-type]


def test_hashing_does_not_duplicate_the_current_reader() -> None:
    current = ScryptHasher(SCRYPT_CHEAPEST)
    hashing = Hashing(current, [current, SeedScryptHasher()])
    assert hashing.reader(current.hash("x")) is current
    assert hashing.matches(SEED_STORED, SEED_SECRET)


@settings(max_examples=25, deadline=None)
@given(st.text(max_size=64))
def test_any_text_secret_round_trips_through_the_keyring(secret: str) -> None:
    hashing = make_hashing("scrypt", peppers=[PEPPER_A], profile="cheapest")
    stored = hashing.hash(secret)
    assert hashing.matches(stored, secret)
    # Not a trailing NUL: scrypt keys HMAC with the secret, and HMAC zero-pads its key.
    assert not hashing.matches(stored, secret + "!")
