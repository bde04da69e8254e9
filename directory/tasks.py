"""Celery tasks of the directory; each calls one service."""

from __future__ import annotations

from celery import shared_task

from directory import sync


@shared_task(ignore_result=True)
def sync_directory() -> None:
    """Sync the people directory from Graph."""
    sync.sync_directory()
