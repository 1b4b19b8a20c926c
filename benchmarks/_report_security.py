"""docs/benchmarks.md for the attacker's view (issue 9): part (e), the server CPU that
wrong guesses and a cold start cost, and part (f), the timing oracle."""

from __future__ import annotations

from typing import Any

from benchmarks._fmt import NONE, Goals, X, us


def _statuses(batch: dict[str, Any]) -> str:
    found = ", ".join(f"{k}: {v:,}" for k, v in batch["statuses"].items())
    return found + ("" if batch["complete"] else " (stopped at its deadline)")


def part_e(cpu: dict[str, Any] | None, goals: Goals) -> list[str]:
    title = "## (e) Wrong guesses and cold start: server CPU over HTTP"
    if cpu is None:
        return [title, "", "Not run in this run.", ""]
    if "skipped" in cpu:
        return [title, "", f"Not run: {cpu['skipped']}.", ""]
    sizes, wrong, cold, null = cpu["sizes"], cpu["wrong"], cpu["cold"], cpu["null"]
    out = [
        title,
        "",
        "A real `keyhive serve` (`--workers 1`, default scrypt, a SQLite file and its key file,",
        "so digests are on) pinned to one CPU. This process sends `GET /v1/auth` one request",
        "at a time over one keep-alive connection from the other CPU, each with its own",
        "`X-Real-IP` (believed from loopback, as from a gateway; one address sending",
        "thousands of guesses would measure the failure throttle's tarpit instead), and reads",
        "the server process's CPU time (every thread; its CPU clock in nanoseconds) across",
        "each batch, less its idle rate (background threads: the change feed's poll, the",
        f"usage flush; measured at {wrong['idle_cpu_per_second'] * 1e3:.1f} ms per second",
        "here) times the batch's wall time. Figures are the extra CPU per request beyond a",
        "baseline batch of the same size sent the same way that needs no lookup: tokens with",
        "a bad checksum for (i); the same tokens again, now cache hits, for (ii) and (iii).",
        f"Each batch and its baseline are sent by turns, {wrong.get('chunk', 50)} requests at a",
        "time, so a busy neighbour on a shared machine slows both alike.",
        "",
        f"The {sizes['ids'] + sizes['cold']:,} secrets of (i) and (ii) were written through",
        "the store in one transaction, each with the digest of its own token, sharing one real",
        "scrypt string (of another token) to keep setup short: their digest decides, so the",
        "hash is never run, and (ii)'s 200 answers prove it (the shared string matches none of",
        f"them). The {sizes['null']} secrets of (iii) have their own real scrypt hash and a NULL",
        "digest, as secrets stored before digests existed. The server is restarted between (i)",
        f"and (ii), and warmed up with {sizes['warmup'] * 3} requests for other credentials",
        "after each start (one-time costs such as the first SQL statements are not charged).",
        "",
        "| batch | requests | server CPU per request | extra per request | goal | answers |",
        "|---|---:|---:|---:|---|---|",
    ]
    base = wrong["baselines"]
    labels = ("interleaved with the first pass", "interleaved with the second pass")
    for label, batch in zip(labels, base, strict=True):
        out.append(
            f"| bad checksum, no lookup ({label}) | {batch['requests']:,} "
            f"| {us(batch['cpu_us_per_request'])} | {NONE} | {NONE} | {_statuses(batch)} |"
        )
    unseen = goals.mark(
        "e",
        f"wrong secret for a known id, {sizes['ids']} ids not seen since start ≤ 100 µs",
        us(wrong["unseen_extra_us"]),
        wrong["unseen_extra_us"] <= wrong["goal_us"] and wrong["unseen"]["complete"],
    )
    seen = goals.mark(
        "e",
        "wrong secret for a known id, ids already read ≤ 100 µs",
        us(wrong["seen_extra_us"]),
        wrong["seen_extra_us"] <= wrong["goal_us"] and wrong["seen"]["complete"],
    )
    per_id = cpu["guesses_per_id_per_pass"]
    rows = [
        (
            f"(i) {sizes['wrong']:,} distinct wrong secrets, {per_id} per id over "
            f"{sizes['ids']} ids unseen since the start",
            wrong["unseen"],
            us(wrong["unseen_extra_us"]),
            f"≤ 100 µs: {unseen}",
        ),
        (
            f"(i) second pass: {sizes['wrong']:,} new wrong secrets at the same ids",
            wrong["seen"],
            us(wrong["seen_extra_us"]),
            f"≤ 100 µs: {seen}",
        ),
    ]
    cold_ok = cold["extra_us"] <= cold["goal_us"] and cold["first"]["statuses"] == {
        "200": sizes["cold"]
    }
    cold_mark = goals.mark(
        "e",
        "cold start: first verification after a restart ≤ 500 µs",
        us(cold["extra_us"]),
        cold_ok,
    )
    rows += [
        (
            f"(ii) cold start: {sizes['cold']:,} tokens issued before the restart, once each",
            cold["first"],
            us(cold["extra_us"]),
            f"≤ 500 µs: {cold_mark}",
        ),
        ("(ii) the same tokens again (cache hits; baseline)", cold["hits"], NONE, NONE),
        (
            f"(iii) cold start of {sizes['null']} tokens with a NULL digest (slow path)",
            null["first"],
            us(null["extra_us"]),
            "context: about one scrypt",
        ),
        ("(iii) the same tokens again (cache hits; baseline)", null["hits"], NONE, NONE),
    ]
    for label, batch, extra, goal in rows:
        out.append(
            f"| {label} | {batch['requests']:,} | {us(batch['cpu_us_per_request'])} | {extra} "
            f"| {goal} | {_statuses(batch)} |"
        )
    out += [
        "",
        f"After (iii) the server had written the digest of "
        f"{sizes['null'] - null['digests_missing_after']} of the {sizes['null']} secrets that "
        "had none (each paid scrypt once).",
        "",
    ]
    return out


def part_f(oracle: dict[str, Any] | None, goals: Goals) -> list[str]:
    title = "## (f) Timing: what a refusal tells an attacker"
    if oracle is None:
        return [title, "", "Not run in this run.", ""]
    goal, pair_goal = oracle["oracle_goal"], oracle["pair_goal"]
    out = [
        title,
        "",
        "In process, on a SQLite file with a durable server key. Each figure is the median",
        "of single timed `hive.verify` calls; the two kinds alternate call by call (the",
        "order swaps each time). *Record not read*: `hive.cache.clear()` before every call,",
        "so each reads the store; *records known*: every id was verified once before the",
        f"timed pass. {oracle['calls']:,} calls of each kind; the wrong secrets are spread",
        f"over {oracle['ids']} known ids (fresh ids for each mode, so the failure throttle",
        "counts the same few failures per id in both).",
        "",
        "| hasher | records | wrong secret, known id | unknown id | ratio | goal within 10% |",
        "|---|---|---:|---:|---:|---|",
    ]
    for hasher, modes in oracle["hashers"].items():
        for mode, label in (("unread", "not yet read"), ("known", "known")):
            m = modes[mode]
            ratio = m["ratio"]
            ok = 1 / goal <= ratio <= goal
            met = goals.mark(
                "f", f"unknown id ≈ wrong secret ({hasher}, records {label})", f"{ratio:.2f}{X}", ok
            )
            out.append(
                f"| {hasher} | {label} | {us(m['a_us'])} | {us(m['b_us'])} "
                f"| {ratio:.2f}{X} | {met} |"
            )
    pairs = oracle.get("pairs")
    if pairs:
        out += [
            "",
            "A client_id + article secret pair (`verify_pair`) with a wrong secret, for a client",
            "holding 3 imported secrets against one holding 1 (article-format scrypt, N=16384):",
            "before any secret was used (no digests: one slow hash per secret the client holds)",
            "and after each was used once (each then has a digest).",
            "",
            f"| when | records | 3 secrets | 1 secret | ratio | goal ≤ {pair_goal}{X} |",
            "|---|---|---:|---:|---:|---|",
        ]
        for key, when, records in (
            ("before_use", "before any use", "known"),
            ("after_use_known", "after one use each", "known"),
            ("after_use_unread", "after one use each", "not yet read"),
        ):
            m = pairs[key]
            met = goals.mark(
                "f",
                f"pair, 3 secrets ÷ 1 ({when}, records {records}) ≤ {pair_goal}{X}",
                f"{m['ratio']:.2f}{X}",
                m["ratio"] <= pair_goal,
            )
            out.append(
                f"| {when} ({m['calls']:,} calls each) | {records} | {us(m['a_us'])} "
                f"| {us(m['b_us'])} | {m['ratio']:.2f}{X} | {met} |"
            )
    out.append("")
    return out
