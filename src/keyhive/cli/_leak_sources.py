"""Where ``keyhive scan`` looks: files under a path, and every commit of a git history.

Both stream: files are read in chunks and git's output a line (or a chunk of a long
line) at a time, so memory stays bounded whatever the size of a file or a history.
Binary files are skipped (a NUL byte near the start, git's own test), and so are
``.git`` directories, symbolic links met while walking, and anything not a regular file.

History comes from one ``git log -p --all`` run. Each line that a commit added is
scanned where it was added, so a token is reported at the commit that introduced it,
even if a later commit removed it. ``-G`` lets git itself skip every file change with
no token-shaped line, and ``--cc`` includes lines that a merge itself introduced.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from keyhive.core.leaks import GIT_PATTERN, StreamFinder, TokenMatch, find_in_pieces

CHUNK: Final = 1 << 20
_BINARY_PROBE: Final = 8000  # bytes git looks at to call a file binary
_COMMIT_MARK: Final = b"\x01"
_HUNK: Final = re.compile(rb"^(@{2,}) (?:-[0-9,]+ )+\+([0-9]+)(?:,[0-9]+)? @{2,}")
_ESCAPES: Final = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13}


@dataclass(frozen=True, slots=True)
class Finding:
    """A token at a place: a file (``commit`` None) or a line a commit added."""

    path: str
    match: TokenMatch
    commit: str | None = None

    @property
    def line(self) -> int:
        return self.match.line

    @property
    def column(self) -> int:
        return self.match.column


class SourceError(Exception):
    """A path or repository that cannot be scanned; the message says why."""


Warn = Callable[[str], None]


# -- files ------------------------------------------------------------------------------------
def scan_path(root: Path, warn: Warn) -> Iterator[Finding]:
    """Tokens in ``root`` (a file, or a directory walked recursively)."""
    if root.is_dir():
        for directory, subdirs, files in os.walk(root, onerror=lambda e: warn(_why(e))):
            subdirs[:] = sorted(d for d in subdirs if d != ".git")
            for name in sorted(files):
                path = Path(directory, name)
                if path.is_symlink():
                    continue
                yield from scan_file(path, warn)
    else:
        yield from scan_file(root, warn)


def scan_file(path: Path, warn: Warn) -> Iterator[Finding]:
    """Tokens in one regular, non-binary file, read in chunks."""
    try:
        with path.open("rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return
            first = handle.read(CHUNK)
            if b"\0" in first[:_BINARY_PROBE]:
                return
            for match in find_in_pieces(_chunks(first, handle)):
                yield Finding(str(path), match)
    except OSError as exc:
        warn(_why(exc, path))


def _chunks(first: bytes, handle: IO[bytes]) -> Iterator[str]:
    """The file's bytes as text, one chunk at a time (latin-1: every byte is one character)."""
    chunk = first
    while chunk:
        yield chunk.decode("latin-1")
        chunk = handle.read(CHUNK)


def _why(exc: OSError, path: Path | None = None) -> str:
    where = exc.filename if exc.filename is not None else path
    return f"cannot read {where}: {exc.strerror or type(exc).__name__}"


# -- git history ------------------------------------------------------------------------------
def git_binary() -> str:
    found = shutil.which("git")
    if found is None:
        raise SourceError("--git needs the git command, and it is not installed")
    return found


def check_repository(root: Path) -> None:
    """Raise SourceError unless ``root`` is inside a git repository."""
    done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [git_binary(), "-C", str(root), "rev-parse", "--git-dir"],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise SourceError(f"{root} is not in a git repository")


def scan_history(root: Path) -> Iterator[Finding]:
    """Tokens in the lines each commit of every branch and tag added, under ``root``."""
    check_repository(root)
    command = [
        git_binary(),
        "-C",
        str(root),
        "-c",
        "core.quotepath=off",
        "-c",
        "log.showSignature=false",
        "log",
        "--all",
        "-p",
        "--cc",
        "-U0",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--find-renames",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        "--format=format:%x01%H",
        f"-G{GIT_PATTERN}",
        "--",
        ".",
    ]
    with subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        try:
            yield from _parse_log(proc.stdout)
        finally:
            proc.stdout.close()
            problem = proc.stderr.read(4096).decode("utf-8", "replace")
            code = proc.wait()
    if code != 0 and not _empty_history(problem):
        first = problem.strip().splitlines()[0] if problem.strip() else f"exit code {code}"
        raise SourceError(f"git log failed in {root}: {first}")


def _empty_history(message: str) -> bool:
    """git's complaint about a repository without a single commit (nothing to scan)."""
    return "does not have any commits" in message


class _LogParser:
    """The state of reading ``git log -p --cc -U0`` output: commit, file, hunk, line.

    Output lines come in pieces of at most CHUNK bytes: :meth:`start` takes a line's
    first piece, :meth:`more` the others, :meth:`end` closes the line.
    """

    def __init__(self) -> None:
        self.commit = ""
        self.path: str | None = None
        self.in_hunk = False
        self.parents = 1  # columns of +/- markers: 1, or one per parent in a merge
        self.line = 0  # line number, in the new file, of the next line
        self._finder: StreamFinder | None = None  # set while reading an added line
        self._added_at = 0

    def start(self, piece: bytes) -> Iterator[Finding]:
        self._finder = None
        if piece.startswith(_COMMIT_MARK):
            self.commit = piece[1:].strip().decode("ascii", "replace")
            self.path, self.in_hunk = None, False
        elif piece.startswith(b"diff "):
            self.path, self.in_hunk = None, False
        elif piece.startswith(b"@@"):
            self._hunk(piece)
        elif self.in_hunk:
            yield from self._content(piece)
        elif piece.startswith(b"+++ "):
            self.path = _git_path(piece[4:].rstrip(b"\r\n"))

    def more(self, piece: bytes) -> Iterator[Finding]:
        if self._finder is not None:
            yield from self._placed(self._finder.feed(piece.decode("latin-1")))

    def end(self) -> Iterator[Finding]:
        if self._finder is not None:
            yield from self._placed(self._finder.finish())
            self._finder = None

    def _hunk(self, piece: bytes) -> None:
        header = _HUNK.match(piece)
        self.in_hunk = header is not None
        if header is not None:
            self.parents = len(header.group(1)) - 1
            self.line = int(header.group(2))

    def _content(self, piece: bytes) -> Iterator[Finding]:
        marks = piece[: self.parents]
        if b"-" in marks or piece.startswith(b"\\"):
            return  # not in the new version (or git's "\\ No newline at end of file")
        self._added_at = self.line
        self.line += 1
        # Added to every parent: new in this commit (a line from one side of a merge
        # was reported at the commit that added it there).
        if marks == b"+" * self.parents and self.path is not None:
            self._finder = StreamFinder()
            yield from self._placed(self._finder.feed(piece[self.parents :].decode("latin-1")))

    def _placed(self, matches: list[TokenMatch]) -> Iterator[Finding]:
        assert self.path is not None
        for match in matches:
            placed = TokenMatch(match.token, self._added_at, match.column)
            yield Finding(self.path, placed, self.commit)


def _parse_log(stream: IO[bytes]) -> Iterator[Finding]:
    parser = _LogParser()
    at_line_start = True
    for piece in iter(lambda: stream.readline(CHUNK), b""):
        starts, at_line_start = at_line_start, piece.endswith(b"\n")
        yield from parser.start(piece) if starts else parser.more(piece)
        if at_line_start:
            yield from parser.end()
    yield from parser.end()


def _git_path(raw: bytes) -> str | None:
    """The path in a ``+++ b/<path>`` line (None for ``/dev/null``), unquoted as git quotes."""
    if raw.startswith(b'"') and raw.endswith(b'"') and len(raw) >= 2:
        raw = _unquote(raw[1:-1].decode("ascii", "replace"))
    if raw == b"/dev/null":
        return None
    if raw.startswith(b"b/"):
        raw = raw[2:]
    return raw.decode("utf-8", "replace")


def _unquote(text: str) -> bytes:
    """Undo git's C-style quoting of a path: ``\\"``, ``\\\\``, ``\\t``, ``\\303\\251``..."""
    out = bytearray()
    index = 0
    while index < len(text):
        char = text[index]
        if char != "\\" or index + 1 == len(text):
            out += char.encode("latin-1", "replace")
            index += 1
            continue
        following = text[index + 1]
        digits = text[index + 1 : index + 4]
        if len(digits) == 3 and all(d in "01234567" for d in digits):
            out.append(int(digits, 8) & 0xFF)
            index += 4
        else:
            out.append(_ESCAPES.get(following, ord(following)))
            index += 2
    return bytes(out)
