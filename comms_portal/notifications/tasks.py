"""Celery tasks of the notification pipeline; each takes a body or nothing and calls one service."""

from __future__ import annotations

import logging
from typing import Any

import redis
from celery import shared_task
from celery.signals import worker_process_init, worker_ready

from comms_portal.notifications import drain, inbox, lifecycle, upkeep

logger = logging.getLogger(__name__)

# Waits between tries of a drain stopped by a passing fault (the database down, say). The
# longest stays well inside a presence poll interval (30 s): once the fault ends, the held
# changes reach the pages about as soon as a poll would have read them.
RETRY_DELAYS = (2, 5, 10, 20)
# How long a drain waits for Redis to answer again after losing it, well inside the task's
# time limit.
REDIS_BACK_SECONDS = 60.0


def retry_delay(retries: int) -> int:
    """Return how long a drain that failed ``retries`` times waits before its next try."""
    return RETRY_DELAYS[min(retries, len(RETRY_DELAYS) - 1)]


@shared_task(name="notifications.drain", bind=True, ignore_result=True, max_retries=None)
def drain_notifications(self: Any) -> None:
    """Process the bodies the intake queued, in batches; on a passing fault, try again later."""
    delay = retry_delay(self.request.retries)
    try:
        while True:
            try:
                drain.drain_inbox(
                    self.request.id or "upkeep",
                    hand_over=drain_notifications.delay,
                    hold_on_interrupt_seconds=delay,
                )
                return
            except redis.ConnectionError as error:
                # Redis itself is away (a restart): no retry could be sent to the broker
                # either, and the drain flag may outlive it (AOF), so nobody else would come
                # for the inbox soon. Wait for it here and go on under the same id, which
                # comes back to the batch it had taken.
                logger.warning(
                    "drain lost Redis (%s); waiting up to %.0f s for it", error, REDIS_BACK_SECONDS
                )
                if not inbox.wait_for_redis(REDIS_BACK_SECONDS):
                    raise
    except inbox.Interrupted as interrupted:
        # The batch stays taken under this task's id, and the retry keeps the id: it comes
        # back to the same bodies first. Nothing is dropped while the fault lasts.
        raise self.retry(exc=interrupted, countdown=delay) from interrupted


@shared_task(name="notifications.process_lifecycle", ignore_result=True)
def process_lifecycle(body: str) -> None:
    """Answer the lifecycle events of one body."""
    lifecycle.process_lifecycle(body)


@shared_task(name="notifications.maintain", ignore_result=True)
def maintain_subscriptions() -> None:
    """Create, renew and drop every registered kind's subscriptions."""
    upkeep.maintain_all()


@worker_process_init.connect
def load_notification_keys(**_: object) -> None:
    """Make the drain ready (its keys, Redis scripts, code path) as each worker process starts."""
    drain.warm_up()


@worker_ready.connect
def check_subscriptions_at_start(**_: object) -> None:
    """Check subscriptions as soon as a worker is up, not a beat interval later."""
    maintain_subscriptions.delay()
