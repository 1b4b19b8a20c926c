"""Leaked tokens against the store: which are real, what they could do, what to revoke.

A token counts as a secret's only when it matches that secret's stored hash. Format
and checksum are public knowledge and so are secret ids, so anyone could write a
token-shaped string with a victim's id and a valid checksum into a public repository;
revoking on the id alone would hand them a way to switch off other people's keys.
Checking costs a digest per token that names an existing secret (a slow hash for a
secret no digest covers yet; those run in parallel threads: scrypt and argon2 release
the GIL).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Final

from keyhive.core.errors import InvalidInput
from keyhive.core.leaks import Leak, LeakCheck, LeakStatus, clean_reason, status_of
from keyhive.core.model import Secret, StoredSecret
from keyhive.core.tokens import ParsedToken, parse_token
from keyhive.core.webhooks import LEAKED
from keyhive.service.secrets import SecretLifecycle
from keyhive.storage import Store

log = logging.getLogger(__name__)

_MAX_THREADS: Final = 8
_NOT_A_TOKEN: Final = LeakCheck(None, LeakStatus.UNKNOWN)


Matcher = Callable[[StoredSecret, str], bool]


def check_tokens(
    store: Store, matches: Matcher, tokens: Sequence[str], now: datetime
) -> list[LeakCheck]:
    """One check per token, in order; each distinct token is looked up and checked once."""
    parsed: dict[str, ParsedToken | None] = {}
    for text in tokens:
        if text not in parsed:
            parsed[text] = _parsed(text)
    wanted = sorted({p.secret_id for p in parsed.values() if p is not None})
    stored = {found.secret.secret_id: found for found in store.get_secrets(wanted)}
    candidates: list[tuple[str, StoredSecret]] = []
    for text, token in parsed.items():
        found = stored.get(token.secret_id) if token is not None else None
        if token is not None and found is not None and found.secret.prefix == token.prefix:
            candidates.append((text, found))
    owners = {text: found.secret for text, found, ok in _matching(matches, candidates) if ok}
    checks: dict[str, LeakCheck] = {}
    for text, token in parsed.items():
        if token is None:
            checks[text] = _NOT_A_TOKEN
        else:
            secret = owners.get(text)
            checks[text] = LeakCheck(token.secret_id, status_of(secret, now), secret)
    return [checks[text] for text in tokens]


def _parsed(token: object) -> ParsedToken | None:
    try:
        return parse_token(token)
    except InvalidInput:
        return None


def _matching(
    matches: Matcher, candidates: list[tuple[str, StoredSecret]]
) -> list[tuple[str, StoredSecret, bool]]:
    """Each candidate with whether the token is its secret's (slow hashes in threads)."""

    def one(item: tuple[str, StoredSecret]) -> tuple[str, StoredSecret, bool]:
        text, found = item
        return text, found, matches(found, text)

    if len(candidates) <= 1:
        return [one(item) for item in candidates]
    workers = min(len(candidates), os.cpu_count() or 1, _MAX_THREADS)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="keyhive-leaks") as pool:
        return list(pool.map(one, candidates))


def revocations(
    leaks: Sequence[Leak], checks: Sequence[LeakCheck], now: datetime
) -> list[tuple[Secret, Secret]]:
    """``(before, after)`` for each active secret among the checks, once, with its first reason."""
    planned: dict[str, tuple[Secret, Secret]] = {}
    for leak, check in zip(leaks, checks, strict=True):
        secret = check.secret
        if check.status is not LeakStatus.ACTIVE or secret is None:
            continue
        if secret.secret_id in planned:
            continue
        reason = clean_reason(leak.reason)
        after = dataclasses.replace(secret, revoked_at=now, revoked_reason=reason)
        planned[secret.secret_id] = (secret, after)
    return list(planned.values())


def outcome(checks: Sequence[LeakCheck], revoked: Sequence[Secret]) -> list[LeakCheck]:
    """The checks with the secrets this call revoked marked as such (and shown revoked)."""
    by_id = {secret.secret_id: secret for secret in revoked}
    result = []
    for check in checks:
        after = by_id.get(check.secret_id or "") if check.secret is not None else None
        result.append(dataclasses.replace(check, secret=after, revoked=True) if after else check)
    return result


class LeakResponse(SecretLifecycle):
    """``keyhive scan`` and ``POST /v1/leaks``: which leaked tokens are real, and revoking them."""

    def check_leaks(self, tokens: Sequence[str]) -> list[LeakCheck]:
        """What each token is, in order: a real secret's (active, revoked, expired) or unknown.

        Only a token that matches its secret's digest (or stored hash) is that secret's;
        nothing is written and no usage is counted.
        """
        return check_tokens(self.store, self._is_token_of, tokens, self.clock.now())

    def _is_token_of(self, stored: StoredSecret, token: str) -> bool:
        if self._parts.store_digests and stored.digest is not None:
            found = self._digester.matches(stored.digest, token, self._digester(token))
            if found is not None:
                return found
        return self.hashing.matches(stored.hash, token)

    def revoke_leaked(
        self, reports: Sequence[Leak], *, actor: str | None = None
    ) -> list[LeakCheck]:
        """Revoke every active secret among leaked tokens, in one transaction, audited.

        The one way keyhive revokes because of a leak (``keyhive scan --revoke`` and
        ``POST /v1/leaks``), and so the place where ``secret.leaked`` is emitted. Each
        secret is revoked once, with the reason of its first report (masked and cut to
        fit). Not guarded against removing the last admin: a leaked admin token must go.
        Returns one check per report, in order; ``revoked`` marks this call's work.
        """
        checks = self.check_leaks([report.token for report in reports])
        plan = revocations(reports, checks, self.clock.now())
        done: list[tuple[Secret, Secret]] = []
        if plan:
            with self.store.transaction() as tx:
                now = self.clock.now()
                locked = tx.lock_secrets([before.secret_id for before, _after in plan])
                for before, after in plan:
                    # The state under the write lock: a secret revoked meanwhile keeps
                    # its first revocation.
                    current = locked.get(before.secret_id)
                    if current is not None and not current.secret.is_revoked(now):
                        done.append((current.secret, after))
                tx.revoke_secrets([after for _before, after in done])
                # Audit events last: an appender holding the chain lock waits for no row.
                events = [
                    self._event(actor, "secret.revoke", after, before, after)
                    for before, after in done
                ]
                self._audit(tx, *events, also=(LEAKED,))
            for _before, after in done:
                self._changed("secret", after.secret_id)
            log.info("revoked %d leaked secret(s)", len(done))
        return outcome(checks, [after for _before, after in done])
