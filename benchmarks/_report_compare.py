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
        "temporary git worktree; *after*: this checkout. Each side runs its own",
        "`benchmarks._inproc.cache_hits` (N = " + sizes + ") and `benchmarks._http.run`",
        "(parts b and c) in a child process whose PYTHONPATH is that tree's root and `src/`;",
        "each child reported the files it imported and a probe with the same environment",
        f"found the servers importing `{compare['servers_import']['before']}` and",
        f"`{compare['servers_import']['after']}`. Rounds in the order",
        f"{', '.join(compare['order'])}; per round {settings['hit_seconds']:g} s of cache hits",
        f"per N and {settings['http_seconds']:g} s of wrk per HTTP row, pooled per side (req/s",
        "over all requests, p99 the median of the rounds). The verdict asks for each figure",
        f"to be within {tolerance:.0%} of before or better. The last column, for HTTP",
        "throughput, divides each side's figure by its raw ASGI app's, measured in the",
        "same child in alternating wrk rounds, and compares those shares: it says how",
        "much of a gap is the code rather than the machine's speed at that minute (the",
        "verdict uses the plain ratio).",
        "",
        "| figure | before | after | after ÷ before | within 5% or better "
        "| shares of raw, after ÷ before |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for row in compare["rows"]:
        figure = row["figure"]
        met = goals.mark(
            "before/after",
            f"{figure}: within {tolerance:.0%} or better",
            f"{row['ratio']:.2f}{X}",
            row["met"],
        )
        share = row.get("share_ratio")
        out.append(
            f"| {figure} | {_value(figure, row['before'])} | {_value(figure, row['after'])} "
            f"| {row['ratio']:.2f}{X} | {met} | {f'{share:.2f}{X}' if share else ''} |"
        )
    context = compare["context"]
    if context.get("before") and context.get("after"):
        out += ["", "For the machine's noise, the same raw ASGI app on both sides:", ""]
        for name, before in context["before"].items():
            after = context["after"].get(name)
            if after:
                out.append(
                    f"- {name}: {ops(before)} then {ops(after)} req/s ({after / before:.2f}{X})"
                )
    out.append("")
    return out
