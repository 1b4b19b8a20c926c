"""The webhook sender: delivers the outbox at least once, retries, and scans for expiry.

``keyhive serve`` runs one per process, in its own thread, on its own database
connections, so the hot routes never wait for it. Each :meth:`WebhookSender.step`:

1. every minute (by the hive's clock), writes ``secret.expiring`` and ``secret.expired``
   events for secrets whose expiry came near or passed: once per secret ever, by the
   outbox's unique (type, subject, period), however many nodes scan;
2. claims due deliveries with a lease (the oldest due one of each endpoint with none in
   flight, so an endpoint gets one request at a time), sends them (endpoints in
   parallel), and records each attempt. A failed attempt is retried after 1 min, 5 min,
   30 min, 2 h, 8 h and 24 h (each moved by up to 10 % either way); after the 7th it is
   given up. An endpoint that has failed for 3 days without one success is disabled,
   with an audit event.

Time comes from the hive's clock; tests call :meth:`step` themselves and move a
FrozenClock. The lease covers the longest an attempt can take (connect, send and answer
each bounded by the timeout), so two senders never send one delivery at the same time;
a sender killed mid-send leaves a lease that expires, and the delivery goes out again
(at least once: receivers deduplicate by ``webhook-id``).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

import httpcore
import httpx

from keyhive.core.errors import ConfigurationError
from keyhive.core.model import AuditEvent
from keyhive.core.tokens import random_base62
from keyhive.core.webhooks import (
    DELIVERED,
    DISABLE_AFTER,
    FAILED,
    ONCE,
    PENDING,
    Event,
    TargetRefused,
    Webhook,
    iso,
    new_event_id,
    retry_at,
)
from keyhive.service import outbox, sealing
from keyhive.service.webhook_http import Guard, Resolve, Signer, make_client, post, system_resolve
from keyhive.service.webhooks import PURPOSE
from keyhive.storage import Store, open_store
from keyhive.storage.webhooks import Attempt, Claimed, WebhookRecord

if TYPE_CHECKING:
    from keyhive.service.hive import KeyHive

log = logging.getLogger("keyhive.webhooks")

ACTOR: Final = "keyhive webhook sender"
EXPIRING: Final = "secret.expiring"
EXPIRED: Final = "secret.expired"
SCAN_EVERY: Final = timedelta(minutes=1)
#: A secret that expired while no sender ran is still announced within this long.
EXPIRED_LOOKBACK: Final = timedelta(days=7)
PURGE_EVERY: Final = timedelta(hours=1)
#: Finished deliveries and their events are kept this long (listed, then dropped).
RETENTION: Final = timedelta(days=90)
_SCAN_LIMIT: Final = 500
_ERROR: Final = 200


class WebhookSender:
    """Sends one hive's webhook deliveries; :meth:`start` runs :meth:`step` in a thread."""

    def __init__(
        self,
        hive: KeyHive,
        *,
        store: Store | None = None,
        client: httpx.Client | None = None,
        resolve: Resolve | None = None,
        rng: random.Random | None = None,
        batch: int = 16,
        poll: float = 1.0,
    ) -> None:
        self._hive = hive
        self._store = store or hive.store
        self._clock = hive.clock
        self._keys = hive.server_keys
        settings = hive.settings
        self._expiring = timedelta(days=settings.webhook_expiring_days)
        timeout = settings.webhook_timeout.total_seconds()
        self._client = client or make_client(
            Guard(
                allow_private=settings.webhook_allow_private,
                resolve=resolve or hive.webhook_resolver or system_resolve,
            ),
            timeout,
        )
        self._owns_client = client is None
        #: Connect, send and answer are each bounded by the timeout; a margin on top.
        self._lease = timedelta(seconds=3 * timeout + 5)
        self._rng = rng or random.Random()
        self._batch = batch
        self._poll = poll
        self.owner = f"{socket.gethostname()[:32]}:{os.getpid()}:{random_base62(8)}"
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="keyhive-webhook")
        self._signers: dict[tuple[str, str], Signer] = {}
        self._next_scan: datetime | None = None
        self._next_purge: datetime | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe = hive.on_change(lambda _kind, _ident: self._wake.set())
        self._stopped = False
        hive.on_close(self.stop)  # a hive that closes stops its sender first

    @classmethod
    def for_hive(cls, hive: KeyHive) -> WebhookSender:
        """A sender on database connections of its own (the memory store is shared)."""
        store = hive.store if hive.store.ephemeral else open_store(hive.settings.database_url)
        return cls(hive, store=store)

    # -- the loop ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="keyhive-webhooks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        failing = False  # log an outage once when it starts, not every second
        while not self._stop.is_set():
            try:
                self.step()
            except Exception as exc:  # the database may be back next round
                if not failing:
                    log.warning("webhook sender stopped sending: %s", type(exc).__name__)
                failing = True
            else:
                if failing:
                    log.warning("webhook sender is sending again")
                failing = False
            self._wake.wait(self._poll)
            self._wake.clear()

    def stop(self) -> None:
        """Finish the attempts under way, give up the leases not used, release connections."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        self._wake.set()
        self._unsubscribe()
        if self._thread is not None:
            self._thread.join(timeout=self._lease.total_seconds())
        self._pool.shutdown(wait=True)
        try:
            self._store.webhooks.release(self.owner)
        except Exception as exc:  # leases expire by themselves
            log.warning("webhook leases not released: %s", type(exc).__name__)
        if self._owns_client:
            self._client.close()
        if self._store is not self._hive.store:
            self._store.close()

    def step(self) -> int:
        """One round: the expiry scan and the purge when due, then every due delivery.
        Returns how many attempts were made."""
        now = self._clock.now()
        if self._next_scan is None or now >= self._next_scan:
            self.scan(now)
            self._next_scan = now + SCAN_EVERY
        if self._next_purge is None or now >= self._next_purge:
            self._store.webhooks.purge(now - RETENTION)
            self._next_purge = now + PURGE_EVERY
        attempts = 0
        while not self._stop.is_set():
            now = self._clock.now()
            if not self._store.webhooks.due(now):
                break
            claimed = self._store.webhooks.claim(now, self.owner, self._batch, now + self._lease)
            if not claimed:
                break
            list(self._pool.map(self._deliver, claimed))
            attempts += len(claimed)
        return attempts

    # -- sending -----------------------------------------------------------------------------
    def _deliver(self, claimed: Claimed) -> None:
        event, record, delivery = claimed.event, claimed.record, claimed.delivery
        status: int | None = None
        excerpt: str | None = None
        error: str | None = None
        try:
            signer = self._signer(record)
            body = event.body()
            headers = signer.headers(event.event_id, self._clock.now(), body)
            status, excerpt = post(self._client, record.webhook.url, body, headers)
            if not 200 <= status < 300:
                error = f"answered HTTP {status}"
        except TargetRefused as exc:
            error = f"refused: {exc}"
        except ConfigurationError as exc:
            error = str(exc)
        except (httpx.TimeoutException, httpcore.TimeoutException):
            error = "timed out"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        self._record(claimed, error is None, status, error, excerpt or None)
        if error is not None:
            log.info(
                "webhook %s: delivery %d failed", record.webhook.webhook_id, delivery.delivery_id
            )

    def _record(
        self,
        claimed: Claimed,
        ok: bool,
        status: int | None,
        error: str | None,
        excerpt: str | None,
    ) -> None:
        at = self._clock.now()
        if ok:
            attempt = Attempt(at, True, DELIVERED, None, status, None, excerpt)
        else:
            later = retry_at(claimed.delivery.attempts + 1, at, self._rng)
            state = PENDING if later is not None else FAILED
            text = (error or "failed")[:_ERROR]
            attempt = Attempt(at, False, state, later, status, text, excerpt)
        owned, failing_since = self._store.webhooks.finish(
            claimed.delivery.delivery_id, self.owner, attempt
        )
        if owned and not ok and failing_since is not None and at - failing_since >= DISABLE_AFTER:
            self._disable(claimed.record.webhook, at, failing_since)

    def _signer(self, record: WebhookRecord) -> Signer:
        key = (record.webhook.webhook_id, record.secret_sealed)
        found = self._signers.get(key)
        if found is None:
            raw = sealing.unseal(
                self._keys,
                PURPOSE,
                record.server_key_id,
                record.webhook.webhook_id,
                record.secret_sealed,
            )
            found = self._signers[key] = Signer(raw)
            if len(self._signers) > 1000:
                self._signers.clear()
        return found

    def _disable(self, hook: Webhook, at: datetime, since: datetime) -> None:
        reason = f"every delivery failed since {iso(since)}"
        after = Webhook(
            webhook_id=hook.webhook_id,
            url=hook.url,
            events=hook.events,
            description=hook.description,
            enabled=False,
            created_at=hook.created_at,
            disabled_at=at,
            disabled_reason=reason,
        )
        event = AuditEvent(
            id=None,
            at=at,
            actor=ACTOR,
            action="webhook.disable",
            target_type="webhook",
            target_id=hook.webhook_id,
            before=hook.to_dict(),
            after=after.to_dict(),
        )
        if self._store.webhooks.disable(hook.webhook_id, at, reason, event):
            log.warning("webhook %s disabled: %s", hook.webhook_id, reason)

    # -- the expiry scan ---------------------------------------------------------------------
    def scan(self, now: datetime) -> int:
        """Write ``secret.expiring`` / ``secret.expired`` events that are due; how many."""
        hooks = [record.webhook for record in self._store.webhooks.all()]
        written = 0
        for kind, after, until in (
            (EXPIRING, now, now + self._expiring),
            (EXPIRED, self._since(hooks, now), now),
        ):
            if not any(hook.wants(kind) for hook in hooks):
                continue
            secrets = self._store.webhooks.expiring(kind, after, until, _SCAN_LIMIT)
            events = [
                Event(
                    new_event_id(),
                    kind,
                    now if kind == EXPIRING else (secret.expires_at or now),
                    {"secret": secret.to_dict()},
                    subject=secret.secret_id,
                    period=ONCE,
                )
                for secret in secrets
            ]
            written += self._enqueue(events)
        return written

    @staticmethod
    def _since(hooks: Sequence[Webhook], now: datetime) -> datetime:
        """Expiries to announce start at the first subscriber (at most a week back)."""
        born = [hook.created_at for hook in hooks if hook.wants(EXPIRED)]
        return max(now - EXPIRED_LOOKBACK, min(born, default=now))

    def _enqueue(self, events: Sequence[Event]) -> int:
        if not events:
            return 0
        with self._store.transaction() as tx:
            return len(outbox.enqueue(tx, events))
