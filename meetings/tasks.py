"""Celery tasks of meetings; each calls one service."""

from __future__ import annotations

from celery import shared_task

from meetings import handlers


@shared_task(name="meetings.watch", ignore_result=True)
def watch_meetings() -> None:
    """Subscribe to the call events of meetings about to start or running."""
    handlers.watch_meetings()
