"""``keyhive usage``: verifications of a secret or a client per hour or day and per code."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Final

import click

from keyhive.core.usage import UsageSeries

from . import output
from ._app import Runtime, json_option, pass_runtime
from ._params import DURATION

_BARS: Final = "▁▂▃▄▅▆▇█"
#: Widest sparkline printed; longer series are summed into this many columns.
SPARK_WIDTH: Final = 56


def sparkline(values: Sequence[int], width: int = SPARK_WIDTH) -> str:
    """One character per bucket (buckets summed in groups past ``width``), from ▁ to █.

    Zero is a space, so an idle stretch reads as a gap rather than as a low bar.
    """
    if not values:
        return ""
    group = -(-len(values) // width)
    columns = [sum(values[i : i + group]) for i in range(0, len(values), group)]
    top = max(columns)
    if top == 0:
        return " " * len(columns)
    steps = len(_BARS) - 1
    return "".join(" " if v == 0 else _BARS[v * steps // top] for v in columns)


def _print(series: UsageSeries, title: str) -> None:
    totals = series.totals()
    rows = [
        [code.value, str(totals[code]), sparkline(values)]
        for code, values in series.counts.items()
        if totals[code]
    ]
    rows.append(["all", str(series.total()), sparkline(series.per_bucket())])
    window = series.window
    span = f"{output.when(window.start)} to {output.when(window.end)}, per {window.bucket}"
    output.table(f"{title} ({span})", ("code", "verifications", "trend"), rows)


@click.command("usage")
@click.argument("secret_id", required=False)
@click.option("--client", "client_id", metavar="CLIENT_ID", help="All secrets of this client.")
@click.option(
    "--since",
    default="7d",
    show_default=True,
    callback=DURATION,
    metavar="DURATION",
    help="How far back, e.g. 24h, 7d, 30d (at most 31d per hour, 400d per day).",
)
@click.option(
    "--bucket",
    type=click.Choice(["hour", "day"]),
    default="hour",
    show_default=True,
    help="Count per UTC hour or per UTC day.",
)
@json_option
@pass_runtime
def usage(
    runtime: Runtime,
    secret_id: str | None,
    client_id: str | None,
    since: timedelta,
    bucket: str,
    as_json: bool,
) -> None:
    """Show verifications of SECRET_ID (or of --client CLIENT_ID) per code, with a trend.

    Every verdict for a secret that matched is counted (VALID, EXPIRED, REVOKED, DISABLED,
    INSUFFICIENT_SCOPE, RATE_LIMITED, USAGE_EXCEEDED, IP_NOT_ALLOWED); NOT_FOUND matches
    no secret. Running servers write their counts every few seconds.
    """
    if (secret_id is None) == (client_id is None):
        raise click.UsageError("give a SECRET_ID or --client CLIENT_ID (one of them)")
    hive = runtime.hive()
    if secret_id is not None:
        series = hive.usage(secret_id, since, bucket)
        ident, title = {"secret_id": secret_id}, f"Usage of secret {secret_id}"
    else:
        assert client_id is not None
        series = hive.client_usage(client_id, since, bucket)
        ident, title = {"client_id": client_id}, f"Usage of client {client_id}"
    if as_json:
        output.emit_json({**ident, **series.to_dict()})
    else:
        _print(series, title)
