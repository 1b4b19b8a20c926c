"""``keyhive init`` and ``keyhive serve``: prepare the database, then run the HTTP service."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

import click

from . import output
from ._app import Runtime, json_option, pass_runtime


@click.command("init")
@click.option(
    "--if-missing",
    is_flag=True,
    help="Print nothing when the database already has an admin (for `make run` and scripts).",
)
@json_option
@pass_runtime
def init(runtime: Runtime, if_missing: bool, as_json: bool) -> None:
    """Create or migrate the database and print the first admin token once.

    The admin secret has the scopes keyhive:admin and keyhive:verify. Running init
    again migrates the database and prints no token; `keyhive admin recover` issues a
    fresh admin secret when the first is lost.
    """
    hive = runtime.hive(create=True)  # on SQLite, this also writes the server key file
    issued = hive.bootstrap_admin()
    if as_json:
        output.emit_json(
            {
                "created": issued is not None,
                "admin_token": issued.token if issued else None,
                "client_id": issued.client_id if issued else None,
                "secret_id": issued.secret_id if issued else None,
            }
        )
    elif issued is not None:
        fields = output.secret_fields(issued.secret, hive.clock.now())
        output.one_time_token(issued.token, "Database ready; first admin secret issued", fields)
    elif not if_missing:
        output.message(
            "Database ready; an admin client exists already, so no token is printed "
            "(lost the admin token? `keyhive admin recover` issues a fresh one)."
        )


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="TCP port."
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Processes."
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
    help="Server log level.",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    metavar="CIDR",
    help="A proxy whose X-Real-IP / X-Forwarded-For are believed (repeatable) "
    "[default: loopback; env KEYHIVE_TRUSTED_PROXIES].",
)
@pass_runtime
def serve(
    runtime: Runtime,
    host: str,
    port: int,
    workers: int,
    log_level: str,
    trusted_proxies: tuple[str, ...],
) -> None:
    """Run the HTTP service (admin API, verify API, gateway auth endpoint) with uvicorn.

    Forwarding headers are believed only from trusted proxies (--trusted-proxy, default
    loopback); uvicorn's own proxy-header rewriting is off, so one rule decides.
    """
    try:
        import uvicorn
    except ImportError:
        raise click.ClickException(
            "uvicorn is not installed; install the server extra: pip install 'keyhive[server]'"
        ) from None
    settings = runtime.settings()
    if trusted_proxies:
        settings = settings.with_overrides(trusted_proxies=trusted_proxies)
    # Worker processes start from an import string and read their settings from the
    # environment: Settings.to_env() is the exact inverse of the Settings.from_env() there.
    os.environ.update(settings.to_env())
    shown = f"[{host}]" if ":" in host else host
    output.message(f"keyhive: dashboard at http://{shown}:{port}/dashboard", stderr=True)
    with _metrics_dir(workers, settings.metrics_dir):
        uvicorn.run(
            "keyhive.server.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,
            proxy_headers=False,  # keyhive reads forwarding headers itself (core/addresses.py)
            http=_HTTP_PROTOCOL,
        )


#: uvicorn's httptools protocol with limits on request heads (an import string, like the
#: app's: the CLI does not import the server).
_HTTP_PROTOCOL = "keyhive.server.protocol:HttpToolsProtocol"


@contextlib.contextmanager
def _metrics_dir(workers: int, given: str | None) -> Iterator[None]:
    """With several workers, a fresh directory where they sum their metrics (removed after).

    A KEYHIVE_METRICS_DIR set by the operator is used as it is.
    """
    if workers == 1 or given:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="keyhive-metrics-") as directory:
        os.environ["KEYHIVE_METRICS_DIR"] = directory
        try:
            yield
        finally:
            del os.environ["KEYHIVE_METRICS_DIR"]
