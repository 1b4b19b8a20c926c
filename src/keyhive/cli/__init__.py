"""The ``keyhive`` command line: a thin click layer over :class:`keyhive.KeyHive`."""

from __future__ import annotations

from ._app import cli
from .admin import admin
from .audit import audit
from .clients import client
from .importing import import_
from .oauth import oauth
from .owners import owner
from .portal import portal
from .roles import role
from .scan import scan
from .secrets import secret
from .setup import init, serve
from .usage import usage
from .verify import verify
from .webhooks import webhook

for _command in (
    init,
    serve,
    client,
    secret,
    owner,
    role,
    verify,
    import_,
    audit,
    scan,
    oauth,
    usage,
    webhook,
    portal,
    admin,
):
    cli.add_command(_command)

#: The console script entry point (``keyhive = "keyhive.cli:main"``).
main = cli

__all__ = ["cli", "main"]
