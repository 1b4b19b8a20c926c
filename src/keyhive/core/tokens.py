"""Key generation and the secret token format ``<prefix>_<id>_<random><checksum>``.

Client IDs follow the article (``generate_key``: random bytes, base64 by default).
Secret tokens carry a public id for lookup, 256 random bits and a CRC32 checksum, so
that garbage is rejected before any storage access or hashing and leaked tokens can be
found by a regular expression (the reason GitHub and npm use prefixes and checksums).
"""

from __future__ import annotations

import base64
import math
import re
import secrets
import zlib
from dataclasses import dataclass
from typing import Final, Literal

from keyhive.core.errors import InvalidInput, MalformedToken

BASE62: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_INDEX: Final = {c: i for i, c in enumerate(BASE62)}

KeyFormat = Literal["base64", "base64url", "hex", "base62"]
KEY_FORMATS: Final[tuple[str, ...]] = ("base64", "base64url", "hex", "base62")

ID_LENGTH: Final = 16
RANDOM_LENGTH: Final = 43  # 43 * log2(62) = 256.03 bits
CHECKSUM_LENGTH: Final = 6
# Every pair of base62 digits, "00" to "zz": a CRC32 (below 62**6) is three of them, so
# the checksum every presented token needs costs two divisions and three lookups.
_PAIRS: Final = tuple(a + b for a in BASE62 for b in BASE62)
_PAIR: Final = len(_PAIRS)
DEFAULT_PREFIX: Final = "kh"
PREFIX_RE: Final = re.compile(r"[a-z0-9]{2,16}")
MAX_TOKEN_LENGTH: Final = 16 + 1 + ID_LENGTH + 1 + RANDOM_LENGTH + CHECKSUM_LENGTH

#: Finds keyhive tokens in text (logs, commits); the checksum weeds out look-alikes.
TOKEN_PATTERN: Final = re.compile(
    r"\b([a-z0-9]{2,16})_([0-9A-Za-z]{16})_([0-9A-Za-z]{43})([0-9A-Za-z]{6})\b"
)
_TOKEN_RE: Final = re.compile(
    r"([a-z0-9]{2,16})_([0-9A-Za-z]{16})_([0-9A-Za-z]{43})([0-9A-Za-z]{6})"
)
_ID_RE: Final = re.compile(r"[0-9A-Za-z]{16}")


def base62_encode(number: int, width: int = 0) -> str:
    """Encode a non-negative integer in base62, left-padded with ``0`` to ``width``."""
    if number < 0:
        raise ValueError("base62 encodes non-negative integers only")
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(BASE62[rest])
    return "".join(reversed(digits)).rjust(width, "0")


def base62_decode(text: str) -> int:
    """Decode base62 text into an integer; raises ValueError on a foreign character."""
    number = 0
    for char in text:
        try:
            number = number * 62 + _BASE62_INDEX[char]
        except KeyError:
            raise ValueError("not base62") from None
    return number


def random_base62(length: int) -> str:
    """``length`` uniformly random base62 characters from the ``secrets`` module."""
    return base62_encode(secrets.randbelow(62**length), length)


def generate_key(size: int = 32, format: KeyFormat | str = "base64") -> str:
    """``size`` random bytes as text, like the article's ``generateKey(size, format)``.

    ``base64`` is padded (Node's ``toString('base64')``), ``base64url`` is not (Node's
    ``'base64url'``); ``base62`` uses as many characters as ``size`` bytes need.
    """
    if not isinstance(size, int) or isinstance(size, bool) or not 16 <= size <= 256:
        raise InvalidInput("size must be an integer from 16 to 256 bytes", field="size")
    raw = secrets.token_bytes(size)
    if format == "base64":
        return base64.b64encode(raw).decode("ascii")
    if format == "base64url":
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    if format == "hex":
        return raw.hex()
    if format == "base62":
        width = math.ceil(size * 8 / math.log2(62))
        return base62_encode(int.from_bytes(raw, "big"), width)
    raise InvalidInput(f"format must be one of {', '.join(KEY_FORMATS)}", field="format")


def checksum(body: str) -> str:
    """CRC32 of the ASCII text before the checksum, as 6 base62 characters."""
    high, low = divmod(zlib.crc32(body.encode("ascii")), _PAIR)
    high, middle = divmod(high, _PAIR)
    return _PAIRS[high] + _PAIRS[middle] + _PAIRS[low]


def validate_prefix(prefix: object) -> str:
    """Return ``prefix`` if it is 2 to 16 characters of ``[a-z0-9]``, else raise InvalidInput."""
    if not isinstance(prefix, str) or not PREFIX_RE.fullmatch(prefix):
        raise InvalidInput("token prefix must be 2 to 16 characters of a-z and 0-9", field="prefix")
    return prefix


def new_secret_id() -> str:
    """A fresh public secret id: 16 random base62 characters."""
    return random_base62(ID_LENGTH)


def is_secret_id(value: object) -> bool:
    """Whether ``value`` has the shape of a secret id (16 base62 characters)."""
    return isinstance(value, str) and _ID_RE.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class ParsedToken:
    """The parts of a well-formed token; ``text`` is the whole token (a secret: never log it)."""

    prefix: str
    secret_id: str
    text: str

    def __repr__(self) -> str:
        return f"ParsedToken(prefix={self.prefix!r}, secret_id={self.secret_id!r}, text=<hidden>)"


def make_token(prefix: str = DEFAULT_PREFIX, secret_id: str | None = None) -> ParsedToken:
    """Build a new token with a random part of 256 bits and its checksum."""
    validate_prefix(prefix)
    ident = secret_id if secret_id is not None else new_secret_id()
    if not is_secret_id(ident):
        raise InvalidInput("secret id must be 16 base62 characters", field="secret_id")
    body = f"{prefix}_{ident}_{random_base62(RANDOM_LENGTH)}"
    return ParsedToken(prefix, ident, body + checksum(body))


def parse_token(token: object) -> ParsedToken:
    """Check format and checksum without touching storage; raises MalformedToken.

    The message says which rule failed but never echoes the token.
    """
    if not isinstance(token, str):
        raise MalformedToken("token must be a string")
    if len(token) > MAX_TOKEN_LENGTH:
        raise MalformedToken("token is too long")
    match = _TOKEN_RE.fullmatch(token)
    if match is None:
        raise MalformedToken("token does not have the form <prefix>_<id>_<random><checksum>")
    prefix, ident, _random, check = match.groups()
    if checksum(token[:-CHECKSUM_LENGTH]) != check:
        raise MalformedToken("checksum mismatch")
    return ParsedToken(prefix, ident, token)


def looks_like_token(value: str) -> bool:
    """Cheap test used to route a presented secret: token form versus an article secret."""
    return len(value) <= MAX_TOKEN_LENGTH and _TOKEN_RE.fullmatch(value) is not None
