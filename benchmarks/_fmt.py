"""Number formats and goal marks shared by every part of docs/benchmarks.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

X: Final = "\N{MULTIPLICATION SIGN}"
NONE: Final = "\N{EN DASH}"


@dataclass(frozen=True)
class Goal:
    """One goal as rendered: for the summary at the top of the page."""

    part: str
    goal: str
    measured: str
    met: bool


class Goals:
    """The goals the renderers mark, in page order."""

    def __init__(self) -> None:
        self.items: list[Goal] = []

    def mark(self, part: str, goal: str, measured: str, met: bool) -> str:
        """Record a goal; returns its mark for the table it appears in."""
        self.items.append(Goal(part, goal, measured, met))
        return mark(met)


def ops(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def us(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value / 1000:.2f} ms"
    return f"{value:.0f} µs" if abs(value) >= 10 else f"{value:.1f} µs"


def mark(ok: bool) -> str:
    return "met" if ok else "**missed**"
