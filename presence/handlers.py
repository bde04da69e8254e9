"""What presence registers with the notification pipeline: its resource kind and handler."""

# https://learn.microsoft.com/graph/changenotifications-for-presence

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings

from comms_portal.graph import InvalidResponse
from comms_portal.graph.presence import presence_from_resource_data
from comms_portal.notifications import registry
from comms_portal.notifications.models import Subscription
from comms_portal.notifications.registry import Change, Handled
from presence import polling, subscriptions
from presence.services import presence_from_graph, record_presence
from presence.store import PresenceState

# Graph keeps a presence subscription alive for at most an hour.
MAX_LIFETIME = timedelta(minutes=60)


def covers(subscription: Subscription, person_id: str) -> bool:
    """Tell whether ``subscription`` covers ``person_id`` (Graph ids compare case-blind)."""
    # The lower-cased ids are kept on the instance: a batch asks about the same subscription
    # (up to 650 ids) once per notification.
    covered: frozenset[str] | None = getattr(subscription, "_covered_ids", None)
    if covered is None:
        covered = frozenset(str(p).lower() for p in subscription.scope)
        subscription._covered_ids = covered  # type: ignore[attr-defined]
    return person_id.lower() in covered


def handle_presence_changes(changes: Sequence[Change]) -> Handled:
    """Record the presence a batch of notifications carries; read those that carry none."""
    handled = Handled()
    states: list[PresenceState] = []
    to_poll: list[str] = []
    observed_at = time.time()
    for change in changes:
        if change.resource_data is None:
            # A basic notification says only who changed: read them.
            person_id = change.resource_id
            if person_id and covers(change.subscription, person_id):
                to_poll.append(person_id)
            continue
        try:
            presence = presence_from_resource_data(change.resource_data)
        except InvalidResponse as error:
            handled.drop(f"presence content refused: {error}")
            continue
        if not covers(change.subscription, presence.id):
            handled.drop(f"presence of {presence.id} is outside its subscription")
            continue
        if not presence.sequence_number:
            # Without Graph's order stamp a late or repeated notification cannot be told from
            # news, and could undo a newer read: read the person instead.
            to_poll.append(presence.id)
            continue
        states.append(presence_from_graph(presence, source="notification", observed_at=observed_at))
    handled.changed = len(record_presence(states))
    if to_poll:
        polling.poll_people(to_poll)
    return handled


def keep_covered() -> subscriptions.MaintainReport:
    """Keep presence subscriptions alive and re-read whoever's coverage began or ended."""
    report = subscriptions.maintain_subscriptions()
    if report.to_reconcile:
        polling.reconcile(report.to_reconcile)
    return report


def resync(subscription: Subscription) -> int:
    """Re-read everyone a presence subscription covered; return how many were read."""
    return polling.reconcile([str(person_id) for person_id in subscription.scope]).read


def register() -> None:
    """Declare presence to the notification pipeline."""
    registry.register(
        registry.ResourceKind(
            name=subscriptions.KIND,
            handle_changes=handle_presence_changes,
            maintain=keep_covered,
            resync=resync,
            max_lifetime=min(
                MAX_LIFETIME, timedelta(minutes=settings.PRESENCE_SUBSCRIPTION_MINUTES)
            ),
            renew_before=timedelta(minutes=settings.PRESENCE_RENEW_BEFORE_MINUTES),
            # Presence subscriptions are delegated only: spread over signed-in people.
            acts_as="delegated",
        )
    )
