"""'Tell me when available': asking, cancelling, and firing one-shot availability alerts."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from comms_portal import live
from directory.models import Person
from presence.models import AvailabilityAlert
from presence.store import PresenceChange

logger = logging.getLogger(__name__)


def request_alert(*, user: User, person: Person) -> AvailabilityAlert:
    """Ask to be told once when ``person`` next becomes Available (idempotent)."""
    waiting = AvailabilityAlert.objects.filter(user=user, person=person, fired_at__isnull=True)
    existing = waiting.first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return AvailabilityAlert.objects.create(user=user, person=person)
    except IntegrityError:
        # A second click raced this one; the constraint kept one waiting alert.
        return waiting.get()


def cancel_alert(*, user: User, person: Person) -> bool:
    """Stop waiting for ``person``; return whether an alert was waiting."""
    deleted, _ = AvailabilityAlert.objects.filter(
        user=user, person=person, fired_at__isnull=True
    ).delete()
    return deleted > 0


def _notice(person: Person) -> dict[str, str]:
    return {
        "kind": "available",
        "person_id": person.graph_id,
        "display_name": person.display_name,
        "message": f"{person.display_name} is available now.",
        "url": reverse("presence:person", args=[person.graph_id]),
    }


def _send_after_commit(user_id: int, notice: dict[str, str]) -> None:
    transaction.on_commit(lambda: live.notify_user(user_id, notice))


def fire_alerts(person_ids: Iterable[str]) -> int:
    """Fire every waiting alert for these people, each exactly once; return how many fired."""
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        return 0
    waiting = list(
        AvailabilityAlert.objects.filter(person__graph_id__in=ids, fired_at__isnull=True)
        .select_related("person")
        .order_by("pk")
    )
    fired = 0
    for alert in waiting:
        # The conditional UPDATE is the claim: of several workers handling the same change,
        # exactly one flips fired_at and sends the notice.
        claimed = AvailabilityAlert.objects.filter(pk=alert.pk, fired_at__isnull=True).update(
            fired_at=timezone.now()
        )
        if claimed == 1:
            fired += 1
            _send_after_commit(alert.user_id, _notice(alert.person))
    return fired


def on_presence_changed(changes: list[PresenceChange]) -> None:
    """Fire the alerts of everyone who just became Available (called after each store)."""
    newly_available = [change.current.person_id for change in changes if change.became_available]
    if newly_available:
        count = fire_alerts(newly_available)
        if count:
            logger.info("fired %d availability alert(s)", count)
