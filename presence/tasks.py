"""Celery tasks of the presence engine; each takes ids or nothing and calls one service."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from presence import handlers, polling, status


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


@shared_task(name="presence.keep_covered", ignore_result=True)
def keep_covered() -> None:
    """Renew, drop and create presence subscriptions as owners and watchers change."""
    handlers.keep_covered()


@shared_task(name="presence.renew_held_sessions", ignore_result=True)
def renew_held_sessions() -> None:
    """Keep "today" and "this week" availabilities in force past Graph's 4-hour sessions."""
    status.renew_held_sessions(now=timezone.now())
