"""Owners' limits: rate limits and credits shared by every secret of every client that
an owner (the ``owner`` text of clients) owns.

Each change locks the owner's record, writes only what changes, and is audited
(``owner.update``); the audit event is the change feed, so every node drops what it
cached for the owner's clients within a second (at once over Redis).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from keyhive.core import validation as check
from keyhive.core.errors import InvalidInput
from keyhive.core.model import Owner
from keyhive.core.quotas import MAX_LIMITS, RateInput, RateLimit, parse_limits
from keyhive.service._base import UNSET, HiveBase
from keyhive.service.credit_changes import credit_changes


class OwnerLimits(HiveBase):
    """``set_owner_limits`` and ``get_owner_limits``."""

    def get_owner_limits(self, owner: str) -> Owner:
        """The owner's limits (none set: an Owner without limits)."""
        name = check.required_text(owner, "owner")
        return self.store.get_owner(name) or Owner(name)

    def set_owner_limits(
        self,
        owner: str,
        *,
        rate: RateInput = UNSET,
        rate_changes: Mapping[str, str | None] | None = None,
        credits: int | None = UNSET,
        refill: str | None = UNSET,
        actor: str | None = None,
    ) -> Owner:
        """Change an owner's limits; fields not given are kept.

        ``rate`` replaces all its rate limits (one string, a list or a mapping; None
        removes them); ``rate_changes`` sets or (with None) removes limits by name and
        keeps the others. ``credits`` (None: unlimited) and ``refill`` (``day``/``daily``,
        ``month``/``monthly``) set the allowance its secrets spend together; new credits
        start a fresh count.
        """
        name = check.required_text(owner, "owner")
        replaced = parse_limits(rate) if rate is not UNSET else None
        with self.store.transaction() as tx:
            before = tx.lock_owner(name)
            now = self.clock.now()
            changes: dict[str, Any] = {}
            limits = replaced if replaced is not None else before.rate_limits
            if rate_changes:
                limits = _merged(limits, rate_changes)
            if limits != before.rate_limits:
                changes["rate_limits"] = limits
            if credits is not UNSET or refill is not UNSET:
                changes.update(credit_changes(before, credits, refill, now))
            after = dataclasses.replace(before, **changes, updated_at=now)
            if changes:
                tx.save_owner(name, changes, now)
            self._audit(tx, self._event(actor, "owner.update", after, before, after))
        self._changed("owner", name)
        return after


def _merged(
    limits: tuple[RateLimit, ...], changes: Mapping[str, str | None]
) -> tuple[RateLimit, ...]:
    if not isinstance(changes, Mapping):
        raise InvalidInput("rate_changes must map limit names to rates", field="rate")
    by_name = {limit.name: limit for limit in limits}
    for name, rate in changes.items():
        if rate is None:
            if name not in by_name:
                raise InvalidInput(f"the owner has no rate limit named {name}", field="rate")
            del by_name[name]
        else:
            by_name[name] = RateLimit.parse(rate, name)
    if len(by_name) > MAX_LIMITS:
        raise InvalidInput(f"at most {MAX_LIMITS} rate limits", field="rate")
    return tuple(by_name.values())
