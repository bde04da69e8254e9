"""Celery tasks of the presence engine; each takes ids or a raw body and calls one service."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_process_init, worker_ready
from django.utils import timezone

from accounts.identity import AuthorityUnreachable
from presence import certificates, notifications, polling, status, subscriptions


@shared_task(name="presence.poll_people", ignore_result=True)
def poll_people(person_ids: list[str]) -> None:
    """Read the presence of these people now."""
    polling.poll_people(person_ids)


@shared_task(name="presence.poll_uncovered", ignore_result=True)
def poll_uncovered() -> None:
    """Poll watched people that no subscription covers."""
    polling.poll_uncovered()


@shared_task(name="presence.reconcile", ignore_result=True)
def reconcile() -> None:
    """Re-read everyone watched, to heal lost notifications."""
    polling.reconcile()


@shared_task(name="presence.maintain_subscriptions", ignore_result=True)
def maintain_subscriptions() -> None:
    """Renew, drop and create presence subscriptions as owners and watchers change."""
    report = subscriptions.maintain_subscriptions()
    if report.to_reconcile:
        polling.reconcile(report.to_reconcile)


# The authority's signing keys may be briefly unreachable; the body is kept for a retry.
@shared_task(
    name="presence.process_notifications",
    ignore_result=True,
    autoretry_for=(AuthorityUnreachable,),
    retry_backoff=True,
    max_retries=5,
)
def process_notifications(body: str) -> None:
    """Verify, decrypt and record the presence changes of one webhook body."""
    notifications.process_notifications(body)


@shared_task(name="presence.drain_notifications", bind=True, ignore_result=True)
def drain_notifications(self: Any) -> None:
    """Process the notification bodies the webhook queued, in batches."""
    notifications.drain_inbox(self.request.id or "upkeep")


@shared_task(name="presence.process_lifecycle", ignore_result=True)
def process_lifecycle(body: str) -> None:
    """Answer the lifecycle events of one webhook body."""
    notifications.process_lifecycle(body)


@shared_task(name="presence.renew_held_sessions", ignore_result=True)
def renew_held_sessions() -> None:
    """Keep "today" and "this week" availabilities in force past Graph's 4-hour sessions."""
    status.renew_held_sessions(now=timezone.now())


@worker_process_init.connect
def load_notification_keys(**_: object) -> None:
    """Load the notification decryption keys as each worker process starts."""
    certificates.preload_keys()


@worker_ready.connect
def check_subscriptions_at_start(**_: object) -> None:
    """Check presence subscriptions as soon as a worker is up, not a beat interval later."""
    maintain_subscriptions.delay()
