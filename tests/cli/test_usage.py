"""``keyhive usage``: a table with a trend per code, or the series as JSON."""

from __future__ import annotations

from keyhive import KeyHive, Settings
from keyhive.cli.usage import sparkline

from .conftest import Run, issue, out_json


def _verify(db_url: str, token: str, times: int, scopes: list[str] | None = None) -> None:
    with KeyHive(db_url, settings=Settings(hashing_profile="cheapest")) as hive:
        for _ in range(times):
            hive.verify(token, scopes or [])


def test_a_secret_and_its_client(run: Run, client_id: str, db_url: str) -> None:
    secret = issue(run, client_id, "--scope", "a:read")
    _verify(db_url, secret["token"], 5, ["a:read"])
    _verify(db_url, secret["token"], 2, ["a:write"])
    shown = run("usage", secret["secret_id"], "--since", "24h")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert any("VALID" in line and " 5 " in line for line in lines), shown.stdout
    assert any("INSUFFICIENT_SCOPE" in line and " 2 " in line for line in lines)
    assert any(line.startswith("│ all") and " 7 " in line and "█" in line for line in lines)
    assert "REVOKED" not in shown.stdout  # codes with nothing to show are left out
    data = out_json(run("usage", "--client", client_id, "--bucket", "day", "--json"))
    assert data["client_id"] == client_id
    assert data["bucket"] == "day" and len(data["times"]) == 7
    assert data["totals"]["VALID"] == 5 and data["totals"]["INSUFFICIENT_SCOPE"] == 2
    assert data["series"]["VALID"][-1] == 5


def test_errors_are_one_line(run: Run, client_id: str) -> None:
    secret = issue(run, client_id)
    neither = run("usage")
    assert neither.exit_code == 2 and "SECRET_ID or --client" in neither.output
    both = run("usage", secret["secret_id"], "--client", client_id)
    assert both.exit_code == 2
    too_long = run("usage", secret["secret_id"], "--since", "40d")
    assert too_long.exit_code == 1 and "at most 31d" in too_long.output
    assert "Traceback" not in too_long.output
    bad = run("usage", secret["secret_id"], "--since", "soon")
    assert bad.exit_code == 2
    unknown = run("usage", "AAAAAAAAAAAAAAAA")
    assert unknown.exit_code == 1 and "secret not found" in unknown.output


def test_sparkline_scales_to_the_largest_bucket() -> None:
    assert sparkline([0, 1, 4, 8]) == " ▁▄█"
    assert sparkline([0, 0]) == "  "
    assert sparkline([]) == ""
    assert len(sparkline([1] * 168)) == 56  # three hours a column
