"""How a change of credits or refill is written, the same for a secret and an owner."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from keyhive.core.quotas import validate_credits
from keyhive.service._base import UNSET


class _Allowance(Protocol):
    @property
    def credits(self) -> int | None: ...

    @property
    def refill(self) -> str | None: ...

    @property
    def credits_set_at(self) -> datetime | None: ...


def credit_changes(
    before: _Allowance, credits: int | None, refill: str | None, now: datetime
) -> dict[str, Any]:
    """The credit fields after a change of ``credits`` and/or ``refill`` (UNSET: kept).

    New credits start a fresh count: ``credits_set_at`` names the counter they use.
    """
    new_credits = before.credits if credits is UNSET else credits
    new_refill = (None if new_credits is None else before.refill) if refill is UNSET else refill
    checked, checked_refill = validate_credits(new_credits, new_refill)
    changes: dict[str, Any] = {"credits": checked, "refill": checked_refill}
    if credits is not UNSET:
        changes["credits_set_at"] = _later(now, before.credits_set_at)
    return changes


def _later(now: datetime, previous: datetime | None) -> datetime:
    """``now``, but strictly after ``previous``: each new allowance gets its own counter."""
    if previous is None or now > previous:
        return now
    return previous + timedelta(microseconds=1)
