"""docs/benchmarks.md for the faces: part (g), the integrations under load (issue 11),
and part (h), OAuth access tokens beside API keys (issue 16)."""

from __future__ import annotations

from typing import Any

from benchmarks._fmt import NONE, Goals, X, ops, us


def part_g(apps: dict[str, Any] | None, goals: Goals) -> list[str]:
    title = "## (g) Integrations: one route, open or behind a check"
    if apps is None:
        return [title, "", "Not run in this run.", ""]
    if "skipped" in apps:
        return [title, "", f"Not run: {apps['skipped']}.", ""]
    setup = apps["setup"]
    out = [
        title,
        "",
        '`GET /hello` answering `{"ok": true}`, the apps in `benchmarks/apps/`. FastAPI',
        f"rows: uvicorn {setup['uvicorn']}, one worker, pinned to the server CPU as in part (b).",
        f"Flask rows: gunicorn {setup['gunicorn']}, one sync worker (it closes each connection,",
        "so every request is a new connection), pinned likewise. wrk with 1 thread and 32",
        f"connections, a {setup['warmup_seconds']:g} s warm-up per row, then {setup['rounds']}",
        f"alternating rounds of {setup['seconds_per_round']} s (every other round runs the",
        "rows in reverse order, so no row always follows the same one). A row's share of",
        "the one-line check is the median over rounds of the ratio of the two rows' req/s",
        "in the same round (req/s is over all rounds). The one-line check is an async",
        "dependency (FastAPI) or a decorator (Flask) comparing the Authorization header with",
        "a constant: the ceiling for any check. keyhive uses a local KeyHive on a SQLite file",
        "with its key file (a cache hit after the first request); the access-token row sends",
        "a JWT from keyhive's own token endpoint logic to the same app. fastapi-keygate runs",
        "in its own venv (`" + " ".join(setup.get("keygate_requirements", [])) + "`) behind",
        "`Depends(gate.require)`, without the gate's usage middleware (a database write per",
        "request) and with no rate limit.",
        "",
        "| framework | route behind | req/s | p50 | p99 | non-2xx | share of the one-line check |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    rows = apps["rows"]
    for r in rows:
        share = _share(r)
        out.append(
            f"| {r['framework']} | {r['name']} | {ops(r['rps'])} | {us(r['p50_us'])} "
            f"| {us(r['p99_us'])} | {r['non_2xx']} | {f'{share:.2f}{X}' if share else NONE} |"
        )
    out.append("")
    goal = apps["goal_of_ceiling"]
    for r in rows:
        share = _share(r)
        if not r["name"].endswith("API key") or share is None:
            continue
        met = goals.mark(
            "g",
            f"{r['framework']} {r['name']} ≥ {goal}{X} the one-line check",
            f"{share:.2f}{X}",
            share >= goal,
        )
        out.append(
            f"- {r['framework']}, {r['name']}: {share:.2f}{X} the one-line check "
            f"(goal ≥ {goal}{X}: {met})"
        )
    key = next(
        (r for r in rows if r["framework"] == "FastAPI" and r["name"].endswith("API key")), None
    )
    jwt = next((r for r in rows if r["name"].endswith("(JWT)")), None)
    if jwt and key:
        out.append(
            f"- FastAPI, keyhive with an access token ÷ with an API key: "
            f"{jwt['rps'] / key['rps']:.2f}{X} (context for part (h))"
        )
    gate = next((r for r in rows if r["name"].startswith("fastapi-keygate")), None)
    key = next(
        (r for r in rows if r["framework"] == "FastAPI" and r["name"].endswith("API key")), None
    )
    if gate and key:
        ahead = key["rps"] / gate["rps"]
        met = goals.mark(
            "g", "FastAPI keyhive ahead of fastapi-keygate", f"{ahead:.2f}{X}", ahead > 1
        )
        out.append(
            f"- FastAPI, keyhive ÷ fastapi-keygate: {ahead:.2f}{X} (goal: ahead, > 1{X}: {met})"
        )
    out.append("")
    return out


def _share(row: dict[str, Any]) -> float | None:
    """The row's paired share of its framework's one-line check (None: no such row)."""
    share = row.get("share_of_ceiling")
    return float(share) if share is not None else None


def part_h(tokens: dict[str, Any] | None, goals: Goals) -> list[str]:
    title = "## (h) Access tokens (JWT) beside API keys, in process"
    if tokens is None:
        return [title, "", "Not run in this run.", ""]
    out = [
        title,
        "",
        "One thread, one run, rows in alternating rounds (median of "
        f"{tokens['rounds']}). The hive has a durable server key and an OAuth issuer and",
        "audience (`Settings(peppers=..., oauth_issuer=..., oauth_audience=...)`, as the",
        "`KEYHIVE_*` variables give them); tokens come from `OAuthService.token` (client",
        "credentials, the API key as client secret, EdDSA). Every call needs `articles:read`.",
        "*Pipeline*: `hive.verify(credential, scopes)`. *Integration check*: what every",
        "adapter runs (`keyhive.integrations._gate.check` over a local verifier: header",
        "parsing, verdict, principal). *JWKS URL only*: a resource server with no database,",
        "`AccessTokenVerifier.from_jwks_url` behind `TokenVerifier`, the key set fetched once",
        "over HTTP from a local server and cached. *New token each call*: "
        f"{tokens['fresh_tokens_per_round']:,} tokens per round, each seen once, so each",
        "signature is checked.",
        "",
        "| path | credential | verifications/s | per call | ÷ API-key cache hit |",
        "|---|---|---:|---:|---:|",
    ]
    rows = {r["name"]: r for r in tokens["rows"]}
    key = rows.get("pipeline, API key (cache hit)")
    for name, r in rows.items():
        path, _, credential = name.partition(", ")
        share = (
            f"{key['ops_per_sec'] / r['ops_per_sec']:.1f}{X} slower"
            if key and r is not key
            else NONE
        )
        out.append(f"| {path} | {credential} | {ops(r['ops_per_sec'])} | {us(r['us'])} | {share} |")
    out.append("")
    return out
