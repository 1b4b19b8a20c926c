"""``secret issue/update`` with --rate, --credits, --refill and --allow-ip.

Values that cannot be read are refused with the other bad options, in test_secrets.py.
"""

from __future__ import annotations

import pytest

from .conftest import Run, code_of, issue, out_json


def test_issue_with_limits_and_verify_against_them(run: Run, client_id: str) -> None:
    data = issue(
        run,
        client_id,
        "--rate",
        "100/minute",
        "--credits",
        "2",
        "--refill",
        "day",
        "--allow-ip",
        "10.0.0.0/8",
        "--allow-ip",
        "192.168.1.7",
    )
    assert data["rate_limit"] == "100/minute"
    assert (data["credits"], data["refill"]) == (2, "day")
    assert data["allowed_ips"] == ["10.0.0.0/8", "192.168.1.7/32"]
    token = data["token"]
    assert code_of(run("verify", token, "--json")) == "IP_NOT_ALLOWED"
    assert code_of(run("verify", token, "--ip", "8.8.8.8", "--json")) == "IP_NOT_ALLOWED"
    first = out_json(run("verify", token, "--ip", "10.1.2.3", "--json"))
    assert first["code"] == "VALID" and first["remaining"] == 1
    assert first["ratelimit"]["limit"] == 100
    assert code_of(run("verify", token, "--ip", "192.168.1.7", "--json")) == "VALID"
    refused = run("verify", token, "--ip", "10.1.2.3", "--json")
    assert refused.exit_code == 1 and code_of(refused) == "USAGE_EXCEEDED"


def test_issue_table_shows_the_limits(run: Run, client_id: str) -> None:
    result = run(
        "secret", "issue", client_id, "--rate", "5/second", "--credits", "9", "--allow-ip", "::1"
    )
    assert result.exit_code == 0, result.output
    assert "5/second" in result.stderr and "::1/128" in result.stderr
    assert "9" in result.stderr


def test_update_sets_and_removes_limits(run: Run, client_id: str) -> None:
    data = issue(run, client_id)
    sid, token = data["secret_id"], data["token"]
    changed = out_json(
        run(
            "secret",
            "update",
            sid,
            "--rate",
            "1/minute",
            "--credits",
            "5",
            "--refill",
            "month",
            "--allow-ip",
            "127.0.0.1",
            "--json",
        )
    )
    assert changed["rate_limit"] == "1/minute"
    assert (changed["credits"], changed["refill"]) == (5, "month")
    assert changed["allowed_ips"] == ["127.0.0.1/32"]
    assert code_of(run("verify", token, "--ip", "10.0.0.1", "--json")) == "IP_NOT_ALLOWED"
    cleared = out_json(
        run("secret", "update", sid, "--no-rate", "--no-credits", "--clear-ips", "--json")
    )
    assert cleared["rate_limit"] is None and cleared["credits"] is None
    assert cleared["refill"] is None and cleared["allowed_ips"] == []
    assert [code_of(run("verify", token, "--json")) for _ in range(3)] == ["VALID"] * 3


def test_update_refill_alone_keeps_the_credits(run: Run, client_id: str) -> None:
    sid = issue(run, client_id, "--credits", "7")["secret_id"]
    changed = out_json(run("secret", "update", sid, "--refill", "day", "--json"))
    assert (changed["credits"], changed["refill"]) == (7, "day")


def test_update_allow_ip_replaces_the_list(run: Run, client_id: str) -> None:
    sid = issue(run, client_id, "--allow-ip", "10.0.0.0/8")["secret_id"]
    changed = out_json(run("secret", "update", sid, "--allow-ip", "172.16.0.0/12", "--json"))
    assert changed["allowed_ips"] == ["172.16.0.0/12"]


@pytest.mark.parametrize(
    "args",
    [
        ("--rate", "5/minute", "--no-rate"),
        ("--credits", "5", "--no-credits"),
        ("--refill", "day", "--no-credits"),
        ("--allow-ip", "10.0.0.0/8", "--clear-ips"),
    ],
)
def test_update_refuses_contradictions(run: Run, client_id: str, args: tuple[str, ...]) -> None:
    sid = issue(run, client_id, "--credits", "3")["secret_id"]
    result = run("secret", "update", sid, *args)
    assert result.exit_code == 2 and "not both" in result.stderr
    assert out_json(run("secret", "list", client_id, "--json"))[0]["credits"] == 3


def test_update_refill_on_a_secret_without_credits_is_an_error(run: Run, client_id: str) -> None:
    sid = issue(run, client_id)["secret_id"]
    result = run("secret", "update", sid, "--refill", "day")
    assert result.exit_code == 1 and "refill needs credits" in result.stderr
