"""Rate limits, credits and IP allowlists, judged after the secret matched."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from keyhive import Code, FrozenClock, InvalidInput, KeyHive, Settings
from keyhive.core.quotas import RateLimit, credit_period, period_end


@pytest.fixture
def client_id(hive: KeyHive) -> str:
    return hive.create_client("limited").client_id


def test_rate_limit_admits_exactly_the_limit_then_releases(hive: KeyHive, client_id: str) -> None:
    issued = hive.issue_secret(client_id, rate="5/1s")
    results = [hive.verify(issued.token) for _ in range(7)]
    assert [r.code for r in results] == [Code.VALID] * 5 + [Code.RATE_LIMITED] * 2
    assert [r.ratelimit.remaining for r in results[:5] if r.ratelimit] == [4, 3, 2, 1, 0]
    limited = results[-1]
    assert limited.retry_after is not None and 0 <= limited.retry_after <= 1.0
    assert limited.to_dict()["ratelimit"]["limit"] == 5
    time.sleep(1.05)
    assert hive.verify(issued.token).valid


def test_credits_are_spent_and_run_out(hive: KeyHive, client_id: str) -> None:
    issued = hive.issue_secret(client_id, credits=3)
    remaining = [hive.verify(issued.token).remaining for _ in range(3)]
    assert remaining == [2, 1, 0]
    out = hive.verify(issued.token)
    assert out.code is Code.USAGE_EXCEEDED and out.remaining == 0
    assert out.retry_after is None, "without a refill there is nothing to wait for"
    hive.update(issued.secret_id, credits=2)
    assert hive.verify(issued.token).remaining == 1, "new credits start a fresh count"


def test_refused_requests_spend_no_credits(hive: KeyHive, client_id: str) -> None:
    issued = hive.issue_secret(client_id, credits=2, scopes=["a:b"], rate="1/minute")
    assert hive.verify(issued.token, ["x:y"]).code is Code.INSUFFICIENT_SCOPE
    assert hive.verify(issued.token, ["a:b"]).remaining == 1
    assert hive.verify(issued.token, ["a:b"]).code is Code.RATE_LIMITED
    assert hive.get_secret(issued.secret_id).credits == 2


def test_daily_refill(hive: KeyHive, client_id: str, clock: FrozenClock) -> None:
    issued = hive.issue_secret(client_id, credits=1, refill="day")
    assert hive.verify(issued.token).valid
    out = hive.verify(issued.token)
    assert out.code is Code.USAGE_EXCEEDED
    assert out.retry_after == pytest.approx(86400.0)
    clock.advance(timedelta(days=1))
    assert hive.verify(issued.token).valid


def test_credits_survive_a_restart(db_url: str, clock: FrozenClock) -> None:
    settings = Settings(hashing_profile="cheapest")
    hive = KeyHive(db_url, settings=settings, clock=clock)
    issued = hive.issue_secret(hive.create_client("c").client_id, credits=5)
    for _ in range(3):
        assert hive.verify(issued.token).valid
    hive.close()
    again = KeyHive(db_url, settings=settings, clock=clock)
    assert again.verify(issued.token).remaining == 1
    assert again.verify(issued.token).remaining == 0
    assert again.verify(issued.token).code is Code.USAGE_EXCEEDED
    again.close()


def test_concurrent_spending_never_goes_below_zero(hive: KeyHive, client_id: str) -> None:
    issued = hive.issue_secret(client_id, credits=100)
    hive.verify(issued.token)  # warm the cache so threads race on the counter only
    codes: list[Code] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            code = hive.verify(issued.token).code
            with lock:
                codes.append(code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes.count(Code.VALID) == 99
    assert codes.count(Code.USAGE_EXCEEDED) == 400 - 99


def test_ip_allowlist(hive: KeyHive, client_id: str) -> None:
    issued = hive.issue_secret(client_id, allowed_ips=["10.0.0.0/8", "2001:db8::/32"])
    assert hive.verify(issued.token, ip="10.1.2.3").valid
    assert hive.verify(issued.token, ip="::ffff:10.1.2.3").valid
    assert hive.verify(issued.token, ip="2001:db8::1").valid
    for ip in ("192.168.1.1", None, "not-an-ip", "x" * 100):
        assert hive.verify(issued.token, ip=ip).code is Code.IP_NOT_ALLOWED
    hive.update(issued.secret_id, allowed_ips=[])
    assert hive.verify(issued.token, ip="192.168.1.1").valid


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": "fast"},
        {"rate": "0/minute"},
        {"rate": "5/fortnight"},
        {"credits": -1},
        {"credits": "10"},
        {"refill": "week", "credits": 1},
        {"refill": "day"},
        {"allowed_ips": ["10.0.0.0/33"]},
        {"allowed_ips": [42]},
    ],
)
def test_bad_limits_are_invalid_input(
    hive: KeyHive, client_id: str, kwargs: dict[str, object]
) -> None:
    with pytest.raises(InvalidInput):
        hive.issue_secret(client_id, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "limit", "window", "shown"),
    [
        ("100/minute", 100, 60, "100/minute"),
        ("10 per second", 10, 1, "10/second"),
        ("500/1h", 500, 3600, "500/hour"),
        ("20/30s", 20, 30, "20/30s"),
        ("7/days", 7, 86400, "7/day"),
    ],
)
def test_rate_limit_parsing(text: str, limit: int, window: int, shown: str) -> None:
    rate = RateLimit.parse(text)
    assert (rate.limit, rate.window, str(rate)) == (limit, window, shown)
    assert RateLimit.parse(str(rate)) == rate


def test_credit_periods(clock: FrozenClock) -> None:
    now = clock.now().replace(month=12, day=31, hour=23)
    assert credit_period("month", now, None).startswith("m203012")
    end = period_end("month", now)
    assert end is not None and (end.year, end.month, end.day) == (2031, 1, 1)
    assert period_end(None, now) is None
    assert credit_period(None, now, now) != credit_period(None, now, None)


def test_limits_show_in_records_and_survive_rotation(hive: KeyHive, client_id: str) -> None:
    issued = hive.issue_secret(
        client_id, rate="100/minute", credits=10, refill="month", allowed_ips=["10.0.0.1"]
    )
    data = issued.secret.to_dict()
    assert data["rate_limit"] == "100/minute" and data["credits"] == 10
    assert data["refill"] == "month" and data["allowed_ips"] == ["10.0.0.1/32"]
    rotated = hive.rotate(issued.secret_id)
    assert rotated.secret.rate_limit == issued.secret.rate_limit
    assert rotated.secret.allowed_ips == ("10.0.0.1/32",)
    hive.update(rotated.secret_id, rate=None, credits=None)
    plain = hive.get_secret(rotated.secret_id)
    assert plain.rate_limit is None and plain.credits is None


def test_a_bad_redis_url_is_a_configuration_error() -> None:
    from keyhive import ConfigurationError

    settings = Settings(hashing_profile="cheapest", redis_url="notaurl:secret-password@host")
    with pytest.raises(ConfigurationError) as caught:
        KeyHive("memory://", settings=settings)
    assert "secret-password" not in str(caught.value)
