"""Charts as SVG drawn on the server: no script, nothing to load, the same in a screenshot.

:func:`usage_chart` stacks each bucket's verdicts by code; :func:`sparkline` draws a
small trend line. Both carry an accessible name and text alternatives (a ``<title>`` per
bar, a summary in ``<desc>``); the pages also list the totals in a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from markupsafe import Markup, escape

from keyhive.core.model import Code
from keyhive.core.usage import UsageSeries

#: One colour per code, distinguishable for common colour blindness (Okabe-Ito based).
COLOURS: Final = {
    Code.VALID: "#1b7f4b",
    Code.EXPIRED: "#e69f00",
    Code.REVOKED: "#7f3c8d",
    Code.DISABLED: "#6b6b6b",
    Code.INSUFFICIENT_SCOPE: "#0072b2",
    Code.RATE_LIMITED: "#d55e00",
    Code.USAGE_EXCEEDED: "#cc79a7",
    Code.IP_NOT_ALLOWED: "#56b4e9",
}
#: For a code added later without a colour of its own.
OTHER: Final = "#999999"
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 12, 12, 28
_LEGEND_ROW: Final = 20
_LEGEND_COLUMNS: Final = 3


def _label(at: datetime, bucket: str) -> str:
    return at.strftime("%m-%d") if bucket == "day" else at.strftime("%m-%d %H:%M")


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 times a power of ten that is at least ``value``."""
    if value <= 1:
        return 1
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


def usage_chart(
    series: UsageSeries, *, title: str, ident: str, width: int = 660, height: int = 240
) -> Markup:
    """A stacked bar chart of ``series``: one bar per bucket, one colour per code."""
    shown = [code for code, total in series.totals().items() if total] or [Code.VALID]
    legend_rows = (len(shown) + _LEGEND_COLUMNS - 1) // _LEGEND_COLUMNS
    plot_w = width - _LEFT - _RIGHT
    plot_h = height - _TOP - _BOTTOM
    full_h = height + legend_rows * _LEGEND_ROW + 8
    buckets = len(series.times) or 1
    top = _nice_ceiling(max(series.per_bucket(), default=0))
    slot = plot_w / buckets
    bar_w = max(1.0, slot * 0.8)
    totals = series.totals()
    summary = ", ".join(f"{code.value} {totals[code]}" for code in shown)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {full_h}" '
        f'width="{width}" height="{full_h}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{series.total()} verifications: {escape(summary)}</desc>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = _TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{width - _RIGHT}" y2="{y:.1f}" '
            'stroke="#d8d8d8" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="#333">{round(top * fraction):g}</text>'
        )
    for index, at in enumerate(series.times):
        x = _LEFT + index * slot + (slot - bar_w) / 2
        base = float(_TOP + plot_h)
        for code in series.counts:
            count = series.counts[code][index]
            if not count:
                continue
            h = plot_h * count / top
            base -= h
            parts.append(
                f'<rect x="{x:.2f}" y="{base:.2f}" width="{bar_w:.2f}" height="{h:.2f}" '
                f'fill="{COLOURS.get(code, OTHER)}"><title>{_label(at, series.window.bucket)} '
                f"{code.value}: {count}</title></rect>"
            )
    ticks = sorted({0, buckets // 2, buckets - 1}) if series.times else []
    for index in ticks:
        x = _LEFT + index * slot + slot / 2
        anchor = "start" if index == 0 else "end" if index == buckets - 1 else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="{anchor}" font-size="12" '
            f'fill="#333">{_label(series.times[index], series.window.bucket)}</text>'
        )
    for n, code in enumerate(shown):
        lx = _LEFT + (n % _LEGEND_COLUMNS) * (plot_w / _LEGEND_COLUMNS)
        ly = height + 4 + (n // _LEGEND_COLUMNS) * _LEGEND_ROW
        parts.append(
            f'<rect x="{lx:.1f}" y="{ly}" width="12" height="12" '
            f'fill="{COLOURS.get(code, OTHER)}"/>'
            f'<text x="{lx + 17:.1f}" y="{ly + 11}" font-size="12" fill="#222">'
            f"{code.value} {totals[code]}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers, constants and escaped text only


def sparkline(values: Sequence[int], *, label: str, width: int = 120, height: int = 24) -> Markup:
    """A small line of ``values`` (oldest first), scaled to the largest."""
    top = max(values, default=0) or 1
    step = width / max(1, len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (height - 4) * v / top:.1f}" for i, v in enumerate(values)
    )
    return Markup(  # noqa: S704 - numbers and escaped text only
        f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}">'
        f'<polyline points="{points}" fill="none" stroke="#1b7f4b" stroke-width="1.5"/></svg>'
    )
