"""docs/benchmarks.md for the before/after comparison (issue 11): a baseline commit's
own benchmarks against this checkout's, in one run."""

from __future__ import annotations

from typing import Any

from benchmarks._fmt import Goals, X, ops, us


def _value(figure: str, value: float) -> str:
    if "÷" in figure:
        return f"{value:.2f}{X}"
    return us(value) if figure.endswith("p99") else ops(value)


def render(compare: dict[str, Any] | None, goals: Goals) -> list[str]:
    title = "## Before and after: the baseline's own benchmarks in the same run"
    if compare is None:
        return [title, "", "Not run in this run.", ""]
    if "skipped" in compare:
        return [title, "", f"Not run: {compare['skipped']}.", ""]
    base, settings = compare["baseline"], compare["settings"]
    tolerance = compare["tolerance"]
    sizes = " and ".join(f"{n:,}" for n in settings["sizes"])
    out = [
        title,
        "",
        f"*Before*: commit `{base['commit'][:10]}` (`{base['rev']}`), checked out into a",
        "temporary git worktree; *after*: this checkout. Each side runs in a child process",
        "whose PYTHONPATH is that tree's root and `src/`, with that tree's own fixtures:",
        f"its cache-hit hives (N = {sizes}, built as its `benchmarks._inproc.cache_hits`",
        "builds them), then its own benchmark database and keyhive server. Each child",
        "reported the files it imported, and a probe with the same environment found the",
        f"servers importing `{compare['servers_import']['before']}` and",
        f"`{compare['servers_import']['after']}`.",
        "",
        "Both sides stay alive at once and are timed in turns seconds apart: each round",
        "times one side, then the other, and the next round swaps who goes first",
        f"({settings['hit_rounds']} rounds of {settings['hit_seconds']:g} s per N of cache",
        f"hits; {settings['http_rounds']} rounds of {settings['http_seconds']:g} s of wrk per",
        f"HTTP row; {settings['flood_rounds']} flood rounds, each a quiet run then one",
        "during a flood of wrong secrets). *Before* and *after* are the medians of each",
        "side's rounds; *after ÷ before* is the median over rounds of the ratio within",
        "the round, whose lowest and highest follow. The verdict asks it to be within",
        f"{tolerance:.0%} of before or better.",
        "",
        "| figure | before | after | after ÷ before | rounds' ratios | within 5% or better |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in compare["rows"]:
        figure = row["figure"]
        met = goals.mark(
            "before/after",
            f"{figure}: within {tolerance:.0%} or better",
            f"{row['ratio']:.2f}{X}",
            row["met"],
        )
        out.append(
            f"| {figure} | {_value(figure, row['before'])} | {_value(figure, row['after'])} "
            f"| {row['ratio']:.2f}{X} | {_spread(row)} | {met} |"
        )
    if compare.get("control"):
        out += [
            "",
            "What is left of the machine's noise: the same raw ASGI app, timed in each",
            f"side's turn (the code is the same, so a perfect machine gives 1.00{X}):",
            "",
        ]
        for row in compare["control"]:
            figure = row["figure"]
            out.append(
                f"- {figure}: {_value(figure, row['before'])} in before's turns, "
                f"{_value(figure, row['after'])} in after's, {row['ratio']:.2f}{X} "
                f"({_spread(row)})"
            )
    statuses = compare.get("flood_statuses")
    if statuses:
        answered = "; ".join(
            f"{side}: " + ", ".join(f"{n:,} {s}" for s, n in sorted(counts.items()))
            for side, counts in statuses.items()
        )
        out += ["", f"The flood's wrong secrets were answered: {answered}."]
    out.append("")
    return out


def _spread(row: dict[str, Any]) -> str:
    return f"{row['ratio_low']:.2f} to {row['ratio_high']:.2f}"
