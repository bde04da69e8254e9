"""The delivery worker: queues notifications, batches them per endpoint, retries, expires.

https://learn.microsoft.com/graph/change-notifications-delivery-webhooks#receive-notifications
One asyncio task started with the app wakes on new work (or a short tick), posts due
notifications in batches per URL, retries failures with exponential backoff on the sandbox
clock for up to four hours, then drops them and, for the resources Graph sends it for, tells
the subscriber through a ``missed`` lifecycle notification. The same loop removes expired
subscriptions and sends ``reauthorizationRequired`` challenges.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from sandbox.clock import SandboxClock
from sandbox.notifications.delivery_log import (
    DeliveryAttempt,
    DeliveryFaults,
    DeliveryKind,
    DeliveryLog,
    DeliverySettings,
)
from sandbox.notifications.lifecycle import next_challenge_time
from sandbox.notifications.payloads import (
    LifecycleEvent,
    lifecycle_notification,
    notification_collection,
)
from sandbox.notifications.registry import lifecycle_events_of
from sandbox.notifications.subscription import Subscription, SubscriptionStore
from sandbox.notifications.transport import post_notifications, trust_context

# Mints a validation token for (tenant id, subscribing app id).
TokenMinter = Callable[[str, str], str]

TICK_SECONDS = 0.05
# How long (sandbox seconds) a minted validation token is sent again with later posts.
TOKEN_REUSE_SECONDS = 300.0


@dataclass
class PendingDelivery:
    """One notification waiting to be posted to ``url``."""

    url: str
    kind: DeliveryKind
    subscription_id: str
    app_id: str
    tenant_id: str
    payload: dict[str, Any]
    queued_at: float  # sandbox timestamp
    next_attempt_at: float
    attempts: int = 0
    in_flight: bool = False

    @property
    def is_rich(self) -> bool:
        return "encryptedContent" in self.payload


class NotificationHub:
    """Subscriptions, their pending notifications, the delivery log and armed faults."""

    def __init__(self, clock: SandboxClock, settings: DeliverySettings | None = None) -> None:
        self.clock = clock
        self.settings = settings or DeliverySettings()
        self.subscriptions = SubscriptionStore()
        self.log = DeliveryLog()
        self.faults = DeliveryFaults()
        self._pending: list[PendingDelivery] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._mint_token: TokenMinter | None = None
        # (tenant id, app id) -> (validation token, when it was minted)
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        # When (monotonic) the subscriptions were last looked over for expiry and challenges.
        self._maintained_at = float("-inf")

    # -- lifecycle of the worker -------------------------------------------------------

    async def start(self, mint_token: TokenMinter, ca_bundle: Path | None = None) -> None:
        """Start the delivery loop on the running event loop."""
        if self._task is not None and not self._task.done():
            return  # both listeners share one hub; the first start wins
        self._mint_token = mint_token
        self._tokens = {}
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._client = httpx.AsyncClient(
            verify=trust_context(ca_bundle), trust_env=False, follow_redirects=False
        )
        self._task = asyncio.create_task(self._run(), name="notification-delivery")

    async def stop(self) -> None:
        """Stop the loop and close the HTTP client; pending notifications are forgotten."""
        tasks = [task for task in (self._task, *self._sending) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()
        self._task = None
        self._client = None

    @property
    def client(self) -> httpx.AsyncClient:
        """Return the HTTP client used for deliveries and validation requests."""
        if self._client is None:
            raise RuntimeError("the notification hub has not been started")
        return self._client

    # -- queueing ----------------------------------------------------------------------

    def enqueue(
        self, subscription: Subscription, payload: dict[str, Any], kind: DeliveryKind
    ) -> None:
        """Queue one notification for ``subscription`` (change or lifecycle)."""
        url = (
            subscription.notification_url
            if kind == "change"
            else subscription.lifecycle_notification_url
        )
        if url is None:
            return
        now = self.clock.timestamp()
        item = PendingDelivery(
            url=url,
            kind=kind,
            subscription_id=subscription.id,
            app_id=subscription.application_id,
            tenant_id=subscription.tenant_id,
            payload=payload,
            queued_at=now,
            next_attempt_at=now,
        )
        with self._lock:
            self._pending.append(item)
        self._poke()

    def send_lifecycle(self, subscription: Subscription, event: LifecycleEvent) -> bool:
        """Queue a lifecycle notification if the subscription asked for them and may get it.

        Graph sends ``missed`` and ``subscriptionRemoved`` for a few resources only; on the
        others the subscriber hears nothing and must notice by itself.
        """
        if subscription.lifecycle_notification_url is None:
            return False
        if event not in lifecycle_events_of(subscription.resource_kind):
            return False
        self.enqueue(subscription, lifecycle_notification(subscription, event), "lifecycle")
        return True

    def pending_count(self, subscription_id: str | None = None) -> int:
        """Return how many notifications wait for delivery (for one subscription if asked)."""
        with self._lock:
            return sum(
                1
                for item in self._pending
                if subscription_id is None or item.subscription_id == subscription_id
            )

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            loop.call_soon_threadsafe(wake.set)

    # -- subscription changes that affect lifecycle bookkeeping ------------------------

    def reauthorized(self, subscription: Subscription, *, renewed: bool) -> None:
        """Clear the pending challenge after a reauthorize call or a renewal."""
        subscription.challenge_pending = False
        subscription.next_challenge_at = self._next_challenge(subscription)
        if renewed:
            subscription.expiry_challenge_sent = False

    def remove(self, subscription_id: str, *, notify: bool) -> Subscription | None:
        """Remove a subscription; with ``notify`` send ``subscriptionRemoved`` where Graph does."""
        removed = self.subscriptions.remove(subscription_id)
        if removed is not None and notify:
            self.send_lifecycle(removed, "subscriptionRemoved")
        return removed

    def _next_challenge(self, subscription: Subscription) -> datetime | None:
        return next_challenge_time(subscription, self.settings, self.clock.now())

    def _maintain(self, now: datetime) -> None:
        """Forget expired subscriptions and send the authorization challenges that are due."""
        self.subscriptions.remove_expired(now)
        lead = timedelta(seconds=self.settings.reauthorization_lead)
        for subscription in self.subscriptions.all():
            if subscription.lifecycle_notification_url is None:
                continue
            if subscription.next_challenge_at is None and not subscription.extras.get("scheduled"):
                subscription.extras["scheduled"] = True
                subscription.next_challenge_at = self._next_challenge(subscription)
            expiry_due = (
                self.settings.reauthorization_lead > 0
                and not subscription.expiry_challenge_sent
                and subscription.expiration - now <= lead
            )
            periodic_due = (
                subscription.next_challenge_at is not None and now >= subscription.next_challenge_at
            )
            if not (expiry_due or periodic_due):
                continue
            if expiry_due:
                subscription.expiry_challenge_sent = True
            subscription.challenge_pending = True
            subscription.extras["challenges"] = subscription.extras.get("challenges", 0) + 1
            subscription.next_challenge_at = self._next_challenge(subscription)
            self.send_lifecycle(subscription, "reauthorizationRequired")

    def _note_missed(self, subscription_ids: set[str]) -> None:
        """Count dropped notifications; send ``missed`` once, where the resource gets it."""
        for subscription_id in subscription_ids:
            subscription = self.subscriptions.get(subscription_id)
            if subscription is None:
                continue
            subscription.missed_notifications += 1
            with self._lock:
                already_queued = any(
                    item.subscription_id == subscription_id
                    and item.kind == "lifecycle"
                    and item.payload.get("lifecycleEvent") == "missed"
                    for item in self._pending
                )
            if not already_queued:
                self.send_lifecycle(subscription, "missed")

    # -- the loop ----------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            try:
                self._tick()
            except Exception as exc:  # one bad tick must not stop delivery
                self._record("change", "", (), 0, 0, "error", None, 0.0, f"worker error: {exc!r}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=TICK_SECONDS)
            self._wake.clear()

    def _tick(self) -> None:
        now = self.clock.now()
        now_ts = now.timestamp()
        # Once a tick, not on every wake-up: a wake-up is a new notification, and looking over
        # every subscription first only delays its post.
        if time.monotonic() - self._maintained_at >= TICK_SECONDS:
            self._maintained_at = time.monotonic()
            self._maintain(now)
        with self._lock:
            due = [
                item
                for item in self._pending
                if not item.in_flight and item.next_attempt_at <= now_ts
            ]
            too_old = [item for item in due if now_ts - item.queued_at > self.settings.max_age]
            for item in too_old:
                self._pending.remove(item)
            ready = [item for item in due if item not in too_old]
            for item in ready:
                item.in_flight = True
        if too_old:
            self._give_up(too_old, "expired", "undelivered after the maximum retry age")
        batches: dict[tuple[str, DeliveryKind], list[PendingDelivery]] = {}
        for item in ready:
            batches.setdefault((item.url, item.kind), []).append(item)
        size = max(self.settings.max_batch_size, 1)
        for (url, kind), items in batches.items():
            for start in range(0, len(items), size):
                task = asyncio.create_task(self._deliver(url, kind, items[start : start + size]))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)

    def _give_up(self, items: list[PendingDelivery], outcome: str, detail: str) -> None:
        by_url: dict[tuple[str, DeliveryKind], list[PendingDelivery]] = {}
        for item in items:
            by_url.setdefault((item.url, item.kind), []).append(item)
        for (url, kind), group in by_url.items():
            self._record(
                kind,
                url,
                tuple(sorted({item.subscription_id for item in group})),
                len(group),
                max(item.attempts for item in group),
                outcome,
                None,
                0.0,
                detail,
            )
        # A lost lifecycle notification is not itself reported, or failures would loop.
        self._note_missed({item.subscription_id for item in items if item.kind == "change"})

    async def _deliver(self, url: str, kind: DeliveryKind, items: list[PendingDelivery]) -> None:
        fault = self.faults.take(url)
        if fault is not None and fault.kind == "drop":
            with self._lock:
                for item in items:
                    self._pending.remove(item)
            self._give_up(items, "dropped", "dropped by an injected delivery fault")
            return
        if fault is not None and fault.kind == "delay":
            resume_at = self.clock.timestamp() + fault.seconds
            with self._lock:
                for item in items:
                    item.next_attempt_at = resume_at
                    item.in_flight = False
            subscription_ids = tuple(sorted({item.subscription_id for item in items}))
            self._record(
                kind,
                url,
                subscription_ids,
                len(items),
                0,
                "delayed",
                None,
                0.0,
                f"held {fault.seconds:g} s by an injected delivery fault",
            )
            return
        for item in items:
            item.attempts += 1
        body = notification_collection(
            [item.payload for item in items], self._validation_tokens(items)
        )
        status, latency, failure = await self._post(url, body)
        subscription_ids = tuple(sorted({item.subscription_id for item in items}))
        attempt = max(item.attempts for item in items)
        if failure == "":
            with self._lock:
                for item in items:
                    self._pending.remove(item)
            for subscription_id in subscription_ids:
                subscription = self.subscriptions.get(subscription_id)
                if subscription is not None:
                    subscription.notifications_sent += sum(
                        1 for item in items if item.subscription_id == subscription_id
                    )
            self._record(
                kind, url, subscription_ids, len(items), attempt, "delivered", status, latency
            )
            return
        outcome = "timeout" if failure == "timeout" else "failed"
        retry_at = self.clock.timestamp() + self.settings.retry_delay(attempt)
        with self._lock:
            for item in items:
                item.next_attempt_at = retry_at
                item.in_flight = False
        self._record(
            kind, url, subscription_ids, len(items), attempt, outcome, status, latency, failure
        )

    async def _post(self, url: str, body: dict[str, Any]) -> tuple[int | None, float, str]:
        return await post_notifications(
            self.client, url, body, timeout=self.settings.delivery_timeout
        )

    def _validation_tokens(self, items: list[PendingDelivery]) -> list[str] | None:
        """Return one token per distinct (app, tenant) among the rich notifications.

        A token is good for hours; one (app, tenant)'s is minted again only after
        ``TOKEN_REUSE_SECONDS`` (sandbox time), not for every post, as an RSA signature per
        post would make the sandbox slower at sending than Graph.
        """
        audiences = sorted({(item.tenant_id, item.app_id) for item in items if item.is_rich})
        if not audiences or self._mint_token is None:
            return None
        now = self.clock.timestamp()
        tokens = []
        for audience in audiences:
            held = self._tokens.get(audience)
            if held is None or not 0 <= now - held[1] < TOKEN_REUSE_SECONDS:
                held = (self._mint_token(*audience), now)
                self._tokens[audience] = held
            tokens.append(held[0])
        return tokens

    def _record(
        self,
        kind: DeliveryKind,
        url: str,
        subscription_ids: tuple[str, ...],
        notifications: int,
        attempt: int,
        outcome: str,
        status: int | None,
        latency_ms: float,
        detail: str = "",
    ) -> None:
        self.log.record(
            DeliveryAttempt(
                time=self.clock.now(),
                kind=kind,
                url=url,
                subscription_ids=subscription_ids,
                notifications=notifications,
                attempt=attempt,
                outcome=outcome,
                status=status,
                latency_ms=latency_ms,
                detail=detail,
            )
        )

    def record_validation(
        self, url: str, status: int | None, latency_ms: float, failure: str
    ) -> None:
        """Log a validation handshake, so a failing create can be diagnosed."""
        outcome = "validated" if failure == "" else "failed"
        self._record("validation", url, (), 0, 1, outcome, status, latency_ms, failure)
