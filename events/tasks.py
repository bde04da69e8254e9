"""Celery tasks of the events pages; each takes ids and calls one service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction

from accounts.models import User
from comms_portal.graph import GraphError
from comms_portal.redis_client import get_redis
from events import services, teams_import
from events.models import VirtualEvent

logger = logging.getLogger(__name__)
RESYNC_KEY = "portal:events:resync:"


@shared_task(name="events.sync_registrations", ignore_result=True)
def sync_registrations(event_pk: int) -> None:
    """Read a webinar's registrations again from Graph."""
    event = VirtualEvent.objects.filter(pk=event_pk, kind=VirtualEvent.Kind.WEBINAR).first()
    if event is None:
        return
    try:
        services.sync_registrations(event)
    except GraphError as error:
        logger.warning("re-reading the registrations of %s failed: %s", event.graph_id, error)


def resync_soon(event: VirtualEvent) -> bool:
    """Ask for a re-read of the event's registrations, at most once per EVENTS_RESYNC_SECONDS."""
    if not event.is_webinar or event.status == VirtualEvent.Status.DRAFT:
        return False
    claimed = get_redis().set(
        f"{RESYNC_KEY}{event.pk}", "1", nx=True, ex=int(settings.EVENTS_RESYNC_SECONDS)
    )
    if claimed:
        sync_registrations.delay(event.pk)
    return bool(claimed)


@shared_task(name="events.import_from_teams", ignore_result=True)
def import_from_teams(user_pk: int) -> None:
    """Import the events a person runs in Teams."""
    teams_import.run_import(user_pk=user_pk)


def import_from_teams_soon(user: User, *, force: bool = False) -> bool:
    """Start the person's import from Teams, unless one ran within EVENTS_TEAMS_IMPORT_SECONDS."""
    claimed = teams_import.claim_import(user=user, force=force)
    if claimed:
        user_pk = user.pk
        transaction.on_commit(lambda: import_from_teams.delay(user_pk))
    return claimed
