"""The ``keyhive`` group: global options, the lazily opened facade, and error reporting.

Every command is a thin layer over :class:`keyhive.KeyHive`; this module turns the
library's errors into one ``Error: ...`` line and an exit code instead of a traceback.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from keyhive.core.echo import redact
from keyhive.core.errors import KeyhiveError, StorageUnavailable
from keyhive.core.hashing import HASHER_NAMES
from keyhive.core.settings import DEFAULT_DATABASE_URL, Settings
from keyhive.service.hive import KeyHive

from ._params import PREFIX

F = TypeVar("F", bound=Callable[..., Any])

_SQLITE_FILE = re.compile(r"sqlite(?:\+\w+)?:///([^?]+)")
# Up to the last "@" before the path: a password may itself hold an "@", a user name may be empty.
_PASSWORD = re.compile(r"(://[^:/@]*:)[^/]*@")


def shown_url(url: str) -> str:
    """A database URL fit for an error message: any password replaced by ``***``."""
    return _PASSWORD.sub(r"\1***@", url)


def _missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite database file that does not exist yet, else None."""
    match = _SQLITE_FILE.fullmatch(url)
    if match is None or match.group(1) == ":memory:" or match.group(1).startswith("file:"):
        return None
    path = match.group(1)
    return None if Path(path).exists() else path


def default_actor() -> str:
    """Who the audit log records for CLI changes: ``cli:<OS user>``, or ``cli``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no user name in some containers
        return "cli"


@dataclass
class Runtime:
    """What the global options chose; opens the facade on first use and closes it once."""

    database_url: str | None = None
    redis_url: str | None = None
    hasher: str | None = None
    prefix: str | None = None
    actor: str = field(default_factory=default_actor)
    _hive: KeyHive | None = None

    def settings(self) -> Settings:
        return Settings.from_env(
            database_url=self.database_url,
            redis_url=self.redis_url,
            hasher=self.hasher,
            token_prefix=self.prefix,
        )

    def hive(self, *, create: bool = False) -> KeyHive:
        """The facade; a missing SQLite file is an error unless ``create`` (``keyhive init``)."""
        if self._hive is None:
            settings = self.settings()
            url = settings.database_url
            missing = None if create else _missing_sqlite_file(url)
            if missing is not None:
                raise click.ClickException(
                    f"database {missing} does not exist; run `keyhive init` first or pass --db"
                )
            try:
                # One command, then exit: no change feed to follow, nothing to subscribe to.
                self._hive = KeyHive(settings=settings, watch_changes=False, invalidator=None)
            except StorageUnavailable as exc:
                raise click.ClickException(
                    f"cannot open database {shown_url(url)}: {exc}"
                ) from None
            except ImportError as exc:
                raise click.ClickException(
                    f"cannot open database {shown_url(url)}: its driver {exc.name} is not "
                    "installed (PostgreSQL: pip install 'keyhive[postgres]')"
                ) from None
        return self._hive

    def close(self) -> None:
        """Close the facade, writing pending usage counts."""
        hive, self._hive = self._hive, None
        if hive is not None:
            hive.close()


pass_runtime = click.make_pass_decorator(Runtime)


def json_option(func: F) -> F:
    """The ``--json`` flag every command has."""
    option = click.option(
        "--json", "as_json", is_flag=True, help="Print JSON for scripts instead of a table."
    )
    return option(func)


def _database_error(exc: Exception) -> str:
    original = getattr(exc, "orig", None)
    detail = str(original or type(exc).__name__).splitlines()[0]
    return f"database error: {detail}"


def _redact(exc: click.ClickException) -> None:
    """Replace token-shaped text in a click error's message (typed Final, set all the same)."""
    vars(exc)["message"] = redact(exc.message)


class KeyhiveGroup(click.Group):
    """A group that reports library errors as ``Error: ...`` with exit 1, never a traceback.

    No message repeats a token: click's own usage errors quote the argument they could
    not use, so a token pasted in the wrong place is replaced by ``<token>``.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            _redact(exc)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            finally:
                runtime = ctx.find_object(Runtime)
                if runtime is not None:
                    runtime.close()
        except click.ClickException as exc:
            _redact(exc)
            raise
        except (click.exceptions.Exit, click.Abort):
            raise
        except KeyhiveError as exc:
            raise click.ClickException(redact(str(exc))) from None
        except Exception as exc:
            if os.environ.get("KEYHIVE_DEBUG"):
                raise
            from sqlalchemy.exc import SQLAlchemyError

            if isinstance(exc, SQLAlchemyError):
                raise click.ClickException(_database_error(exc)) from None
            raise click.ClickException(
                f"unexpected {type(exc).__name__}; set KEYHIVE_DEBUG=1 to see the traceback"
            ) from None


@click.group(name="keyhive", cls=KeyhiveGroup)
@click.option(
    "--db",
    "database_url",
    envvar="KEYHIVE_DATABASE_URL",
    show_envvar=True,
    metavar="URL",
    help=f"Database [default: {DEFAULT_DATABASE_URL}]; postgresql+psycopg://... for many nodes.",
)
@click.option(
    "--redis",
    "redis_url",
    envvar="KEYHIVE_REDIS_URL",
    show_envvar=True,
    metavar="URL",
    help="Redis URL for counters and invalidation across nodes (used by `serve`).",
)
@click.option(
    "--hasher",
    envvar="KEYHIVE_HASHER",
    show_envvar=True,
    type=click.Choice(HASHER_NAMES),
    help="Hasher for new secrets [default: scrypt]. Peppers come only from KEYHIVE_PEPPERS.",
)
@click.option(
    "--prefix",
    envvar="KEYHIVE_TOKEN_PREFIX",
    show_envvar=True,
    callback=PREFIX,
    metavar="PREFIX",
    help="Prefix of new tokens, 2 to 16 of a-z0-9 [default: kh].",
)
@click.version_option(package_name="keyhive", prog_name="keyhive")
@click.pass_context
def cli(
    ctx: click.Context,
    database_url: str | None,
    redis_url: str | None,
    hasher: str | None,
    prefix: str | None,
) -> None:
    """Issue, store and verify API keys and secrets.

    Secrets are shown once and stored only as salted hashes. Every command but serve
    has --json.
    """
    ctx.obj = Runtime(database_url, redis_url, hasher, prefix)
