"""Celery tasks of the notification pipeline; each takes a body or nothing and calls one service."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_process_init, worker_ready

from accounts.identity import AuthorityUnreachable
from comms_portal.notifications import certificates, drain, lifecycle, upkeep


# The authority's signing keys may be briefly unreachable; the body is kept for a retry.
@shared_task(
    name="notifications.process_body",
    ignore_result=True,
    autoretry_for=(AuthorityUnreachable,),
    retry_backoff=True,
    max_retries=5,
)
def process_body(body: str) -> None:
    """Verify and decrypt one body's notifications and hand them to their kinds."""
    drain.process_bodies([body])


@shared_task(name="notifications.drain", bind=True, ignore_result=True)
def drain_notifications(self: Any) -> None:
    """Process the bodies the intake queued, in batches."""
    drain.drain_inbox(
        self.request.id or "upkeep",
        hand_over=drain_notifications.delay,
        on_failed_batch=lambda bodies: [process_body.delay(body) for body in bodies],
    )


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
    """Load the notification decryption keys as each worker process starts."""
    certificates.preload_keys()


@worker_ready.connect
def check_subscriptions_at_start(**_: object) -> None:
    """Check subscriptions as soon as a worker is up, not a beat interval later."""
    maintain_subscriptions.delay()
