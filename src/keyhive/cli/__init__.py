"""The ``keyhive`` command line: a thin click layer over :class:`keyhive.KeyHive`."""

from __future__ import annotations

from ._app import cli
from .audit import audit
from .clients import client
from .importing import import_
from .oauth import oauth
from .portal import portal
from .scan import scan
from .secrets import secret
from .setup import init, serve
from .usage import usage
from .verify import verify

for _command in (init, serve, client, secret, verify, import_, audit, scan, oauth, usage, portal):
    cli.add_command(_command)

#: The console script entry point (``keyhive = "keyhive.cli:main"``).
main = cli

__all__ = ["cli", "main"]
