"""What a metered verification spends, and how the meter's figures become its answer.

The counters, in order: the secret's named rate limits, its owner's, then the secret's
credits and the owner's. The meter spends them all or none; the first without room names
the refusal (``limited_by``), and every limit's figures go into the answer (``limits``,
``credits``) and from there into the RateLimit headers.
"""

from __future__ import annotations

from datetime import datetime

from keyhive.core.model import (
    Code,
    CreditStatus,
    LimitedBy,
    Owner,
    RateLimitStatus,
    Secret,
    Verification,
)
from keyhive.core.quotas import RateLimit, credit_period, period_end
from keyhive.counters.protocols import Allowance, CacheEntry, Metered, UsageSink, Window


class Plan:
    """The counters one verification spends from, and how their figures become an answer.

    Order: the secret's rate limits, the owner's, then the secret's credits and the
    owner's. The first counter without room names the refusal.
    """

    def __init__(self, entry: CacheEntry, now: datetime) -> None:
        self.entry = entry
        self.now = now
        secret, owner = entry.secret, entry.owner
        self.rates: list[tuple[str, RateLimit]] = [("secret", r) for r in secret.rate_limits]
        owner_limits = owner.rate_limits if owner is not None else ()
        self.rates += [("owner", r) for r in owner_limits]
        self.windows = [
            Window(_window_key(holder, secret, owner, rate), rate.limit, rate.window)
            for holder, rate in self.rates
        ]
        self.credits: list[tuple[str, int, str | None, str]] = []
        self.allowances: list[Allowance] = []
        if secret.credits is not None:
            period = credit_period(secret.refill, now, secret.credits_set_at)
            start = secret.credits_used if secret.credits_period == period else 0
            self.credits.append(("secret", secret.credits, secret.refill, period))
            self.allowances.append(Allowance(f"{secret.secret_id}:{period}", secret.credits, start))
        if owner is not None and owner.credits is not None:
            period = credit_period(owner.refill, now, owner.credits_set_at)
            start = owner.credits_used if owner.credits_period == period else 0
            self.credits.append(("owner", owner.credits, owner.refill, period))
            self.allowances.append(Allowance(f"o:{owner.owner}:{period}", owner.credits, start))

    def answer(self, metered: Metered, usage: UsageSink) -> Verification:
        """The verification the meter's figures make; the use (and the credit counters) go
        to the usage buffer."""
        entry, now = self.entry, self.now
        secret = entry.secret
        limits = tuple(
            _status(holder, rate, count, reset, metered, index)
            for index, ((holder, rate), count, reset) in enumerate(
                zip(self.rates, metered.counts, metered.resets, strict=True)
            )
        )
        credits = tuple(
            CreditStatus(holder, allowance, max(0, allowance - used), _refills(refill, now))
            for (holder, allowance, refill, _period), used in zip(
                self.credits, metered.used, strict=True
            )
        )
        remaining = min((c.remaining for c in credits), default=None)
        refused = metered.refused
        if refused is None:
            code, retry, limited_by = Code.VALID, None, None
            self._record(metered, usage)
        elif refused < len(self.rates):
            holder, rate = self.rates[refused]
            code, limited_by = Code.RATE_LIMITED, LimitedBy(holder, rate.name, "rate")
            retry = limits[refused].reset_in
        else:
            holder, _allowance, refill, _period = self.credits[refused - len(self.rates)]
            code, limited_by = Code.USAGE_EXCEEDED, LimitedBy(holder, "credits", "credits")
            ends = period_end(refill, now)
            retry = (ends - now).total_seconds() if ends is not None else None
        if code is not Code.VALID:
            usage.add(secret.secret_id, now, code)
        tightest = (
            limits[refused] if refused is not None and refused < len(limits) else _tightest(limits)
        )
        return Verification(
            code,
            entry.client,
            secret,
            retry_after=retry,
            ratelimit=tightest,
            remaining=remaining,
            limits=limits,
            credits=credits,
            limited_by=limited_by,
            granted=entry.valid.granted,
        )

    def _record(self, metered: Metered, usage: UsageSink) -> None:
        """A use, and what the credit counters now stand at (written to the store later)."""
        entry, now = self.entry, self.now
        secret_period, secret_used = None, 0
        for (holder, _allowance, _refill, period), used in zip(
            self.credits, metered.used, strict=True
        ):
            if holder == "secret":
                secret_period, secret_used = period, used
            elif entry.owner is not None:
                usage.add_owner_credits(entry.owner.owner, period, used)
        usage.add(entry.secret.secret_id, now, Code.VALID, secret_period, secret_used)


def _window_key(holder: str, secret: Secret, owner: Owner | None, rate: RateLimit) -> str:
    """A window's counter; a changed limit or window starts a fresh count."""
    if holder == "owner" and owner is not None:
        return f"o:{owner.owner}:{rate.name}:{rate.limit}/{rate.window}"
    return f"s:{secret.secret_id}:{rate.name}:{rate.limit}/{rate.window}"


def _status(
    holder: str, rate: RateLimit, count: int, reset: float, metered: Metered, index: int
) -> RateLimitStatus:
    allowed = metered.refused is None or metered.refused != index
    return RateLimitStatus(
        allowed,
        rate.limit,
        max(0, rate.limit - count),
        reset,
        max(0.0, reset - metered.now),
        rate.name,
        rate.window,
        holder,
    )


def _tightest(limits: tuple[RateLimitStatus, ...]) -> RateLimitStatus | None:
    """The limit closest to refusing (the fewest units left; the first on a tie)."""
    return min(limits, key=lambda s: s.remaining, default=None)


def _refills(refill: str | None, now: datetime) -> float | None:
    ends = period_end(refill, now)
    return ends.timestamp() if ends is not None else None
