"""Finding leaked keyhive tokens in text: the token format plus a valid checksum.

A candidate is anything shaped like ``<prefix>_<id>_<random><checksum>``; only those
whose CRC32 checksum holds are reported, so look-alikes (a hand-edited example, a
token with one character changed) are not. Text is fed in pieces of any size
(:class:`StreamFinder`), so a file of gigabytes, or one line of them, is scanned in
bounded memory. Pure functions: reading files and git history is the caller's part.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from keyhive.core.errors import MalformedToken
from keyhive.core.model import Secret
from keyhive.core.tokens import (
    CHECKSUM_LENGTH,
    ID_LENGTH,
    MAX_TOKEN_LENGTH,
    RANDOM_LENGTH,
    ParsedToken,
    parse_token,
)
from keyhive.core.validation import MAX_REASON

#: A token-shaped run. No left boundary: the prefix may follow ``_`` or letters
#: (``API_KEY_kh_...``, ``tokenkh_...``); the search retries one character further on
#: after a failed checksum, which tries every shorter prefix. On the right, more
#: base62 characters mean a longer word, not a token.
_CANDIDATE: Final = re.compile(
    rf"[a-z0-9]{{2,16}}_[0-9A-Za-z]{{{ID_LENGTH}}}_"
    rf"[0-9A-Za-z]{{{RANDOM_LENGTH + CHECKSUM_LENGTH}}}(?![0-9A-Za-z])"
)
#: The same shape for ``git log -G`` (POSIX extended regex), to let git skip the rest.
GIT_PATTERN: Final = (
    rf"[a-z0-9]{{2,16}}_[0-9A-Za-z]{{{ID_LENGTH}}}_[0-9A-Za-z]{{{RANDOM_LENGTH + CHECKSUM_LENGTH}}}"
)
#: How much text a streamed scan keeps between pieces: a whole token plus the
#: character after it, so no token is cut in two and none is judged without context.
_KEEP: Final = MAX_TOKEN_LENGTH + 1


@dataclass(frozen=True, slots=True)
class TokenMatch:
    """A real token found in text, at a 1-based line and column (a secret: never print it)."""

    token: ParsedToken
    line: int
    column: int

    @property
    def secret_id(self) -> str:
        return self.token.secret_id

    @property
    def masked(self) -> str:
        """What may be shown: prefix and public id, nothing of the random part."""
        return mask(self.token)

    def __repr__(self) -> str:
        return f"TokenMatch({self.masked!r}, line={self.line}, column={self.column})"


def mask(token: ParsedToken) -> str:
    """``kh_<id>_…``: the public part of a token, fit for output and logs."""
    return f"{token.prefix}_{token.secret_id}_…"


def find_tokens(text: str) -> Iterator[tuple[int, int, ParsedToken]]:
    """``(start, end, token)`` for every token with a valid checksum in ``text``."""
    pos = 0
    while (found := _CANDIDATE.search(text, pos)) is not None:
        try:
            token = parse_token(found.group())
        except MalformedToken:
            pos = found.start() + 1  # a shorter prefix, or a token starting inside, may hold
            continue
        yield found.start(), found.end(), token
        pos = found.end()


def redact(text: str) -> str:
    """``text`` with every token replaced by its masked form (for reasons, logs)."""
    parts: list[str] = []
    last = 0
    for start, end, token in find_tokens(text):
        parts.append(text[last:start])
        parts.append(mask(token))
        last = end
    parts.append(text[last:])
    return "".join(parts)


def clean_reason(text: str, *, limit: int = MAX_REASON, default: str = "leaked") -> str:
    """A revocation reason fit for the audit log: tokens masked, printable, at most ``limit``.

    Reasons come from outside (the URL in a GitHub report), so a token in one must not
    reach the audit log, and no odd character may turn the whole report into an error.
    """
    printable = "".join(c if c.isprintable() else " " for c in redact(text)).strip()
    if len(printable) > limit:
        printable = printable[: limit - 1] + "…"
    return printable or default


class StreamFinder:
    """Finds tokens in text fed piece by piece, holding at most one piece plus a token.

    ``feed`` returns the tokens that can be decided so far, ``finish`` the rest; lines
    and columns count from 1 over the whole stream (``\\n`` ends a line).
    """

    __slots__ = ("_buffer", "_line", "_line_start", "_offset")

    def __init__(self) -> None:
        self._buffer = ""
        self._offset = 0  # stream position of _buffer[0]
        self._line = 1  # line number at stream position _offset
        self._line_start = 0  # stream position where that line starts

    def feed(self, piece: str) -> list[TokenMatch]:
        self._buffer += piece
        return self._scan(final=False)

    def finish(self) -> list[TokenMatch]:
        return self._scan(final=True)

    def _scan(self, *, final: bool) -> list[TokenMatch]:
        buffer = self._buffer
        limit = len(buffer) if final else len(buffer) - _KEEP
        if limit <= 0:
            return []
        found: list[TokenMatch] = []
        counted = 0
        pos = 0
        while (candidate := _CANDIDATE.search(buffer, pos)) is not None:
            start = candidate.start()
            if start >= limit:
                break  # may still grow or shrink with the next piece
            try:
                token = parse_token(candidate.group())
            except MalformedToken:
                pos = start + 1
                continue
            self._count_lines(buffer, counted, start)
            counted = start
            found.append(TokenMatch(token, self._line, self._offset + start - self._line_start + 1))
            pos = candidate.end()
        cut = len(buffer) if final else max(pos, limit)
        self._count_lines(buffer, counted, cut)
        self._buffer = buffer[cut:]
        self._offset += cut
        return found

    def _count_lines(self, buffer: str, start: int, end: int) -> None:
        newlines = buffer.count("\n", start, end)
        if newlines:
            self._line += newlines
            self._line_start = self._offset + buffer.rindex("\n", start, end) + 1


def find_in_pieces(pieces: Iterable[str]) -> Iterator[TokenMatch]:
    """Every token in a stream given as pieces (a file read in chunks, say)."""
    finder = StreamFinder()
    for piece in pieces:
        yield from finder.feed(piece)
    yield from finder.finish()


class LeakStatus(StrEnum):
    """What a leaked token could do when it was found."""

    ACTIVE = "active"  # it works (perhaps in a rotation's grace period): revoke it
    REVOKED = "revoked"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # no such secret, or the token is not the one that secret was issued with


def status_of(secret: Secret | None, now: datetime) -> LeakStatus:
    """The status of a token whose secret matched (None: it matched none)."""
    if secret is None:
        return LeakStatus.UNKNOWN
    if secret.is_revoked(now):
        return LeakStatus.REVOKED
    if secret.is_expired(now):
        return LeakStatus.EXPIRED
    return LeakStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class Leak:
    """A token reported as leaked, and the revocation reason to record if it is active."""

    token: str
    reason: str

    def __repr__(self) -> str:
        return f"Leak(token=<hidden>, reason={self.reason!r})"


@dataclass(frozen=True, slots=True)
class LeakCheck:
    """What keyhive knows about one reported token; ``revoked`` if this call revoked it.

    ``secret_id`` is the id the token claims (None if it is not a token at all);
    ``secret`` is set only when the token is the one that secret was issued with.
    """

    secret_id: str | None
    status: LeakStatus
    secret: Secret | None = None
    revoked: bool = False

    @property
    def genuine(self) -> bool:
        """Whether the token is a real keyhive credential (active or not)."""
        return self.secret is not None
