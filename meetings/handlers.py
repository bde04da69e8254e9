"""What meetings register with the notification pipeline: meeting call events (beta).

https://learn.microsoft.com/graph/changenotifications-for-onlinemeeting
One subscription per meeting (Graph allows one per application per meeting), kept with the
app's token (application permissions with an access policy for the organizer), for meetings
about to start or running; each carries rich notifications with a callEvent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from django.utils import timezone

from comms_portal.graph import BadRequest, Forbidden, GraphError, InvalidResponse, NotFound
from comms_portal.graph.meetings import (
    CallEvent,
    call_event_from_resource_data,
    call_events_resource,
)
from comms_portal.notifications import registry
from comms_portal.notifications import subscriptions as pipeline
from comms_portal.notifications.models import Subscription
from comms_portal.notifications.registry import Change, Handled
from meetings import watching
from meetings.models import Meeting
from meetings.services import record_call_events_of

logger = logging.getLogger(__name__)

KIND = "meeting-calls"
# Graph keeps a meeting call-events subscription for at most 4,320 minutes.
MAX_LIFETIME = timedelta(minutes=4320)
RENEW_BEFORE = timedelta(hours=6)
# Watch a meeting from a little before its start until a while after its planned end.
WATCH_BEFORE = timedelta(minutes=15)
WATCH_AFTER = timedelta(hours=2)


def _meeting_of(subscription: Subscription) -> Meeting | None:
    ids = [int(one) for one in subscription.scope if str(one).isdigit()]
    return Meeting.objects.filter(pk__in=ids).first() if ids else None


def _meeting_id_of(subscription: Subscription) -> int | None:
    ids = [int(one) for one in subscription.scope if str(one).isdigit()]
    return ids[0] if ids else None


def handle_call_events(changes: Sequence[Change]) -> Handled:
    """Apply the batch's call events to their meetings' rosters, each meeting's together.

    A meeting's events of one batch make one transaction and one message to its pages, in
    place of one of each per event; meetings are taken in the order of their first event.
    """
    handled = Handled()
    by_meeting: dict[int, list[CallEvent]] = {}
    for change in changes:
        if change.resource_data is None:
            handled.drop("a meeting call event without its content")
            continue
        meeting_id = _meeting_id_of(change.subscription)
        if meeting_id is None:
            handled.drop("a call event of a meeting no longer kept")
            continue
        try:
            event = call_event_from_resource_data(change.resource_data)
        except InvalidResponse as error:
            handled.drop(f"call event refused: {error}")
            continue
        by_meeting.setdefault(meeting_id, []).append(event)
    for meeting_id, events in by_meeting.items():
        # The meeting is read (and locked) once, with its roster; none is read before.
        if record_call_events_of(meeting_id, events) is None:
            for _ in events:
                handled.drop("a call event of a meeting no longer kept")
            continue
        handled.changed += len(events)
    return handled


def watch_meetings() -> dict[str, int]:
    """Subscribe to the meetings about to start or running; drop the rest."""
    now = timezone.now()
    wanted = {
        meeting.pk: meeting
        for meeting in Meeting.objects.to_watch(now - WATCH_AFTER, now + WATCH_BEFORE)
    }
    report = {"created": 0, "renewed": 0, "dropped": 0, "failed": 0, "set_aside": 0}
    held: set[int] = set()
    for subscription in Subscription.objects.of_kind(KIND).select_related("certificate"):
        meeting = _meeting_of(subscription)
        if meeting is None or meeting.pk not in wanted or subscription.expires_at <= now:
            if subscription.expires_at > now:
                pipeline.drop(subscription)
            else:
                # Graph deleted it at expiry; nothing to delete there.
                pipeline.forget(subscription)
            report["dropped"] += 1
            continue
        held.add(meeting.pk)
        if pipeline.is_due(subscription, now):
            try:
                if pipeline.renew(subscription, now=now) is not None:
                    report["renewed"] += 1
            except GraphError as error:
                logger.warning("renewing %s failed: %s", subscription.graph_id, error)
    for meeting_id, meeting in wanted.items():
        if meeting_id in held:
            continue
        if watching.is_set_aside(meeting_id):
            report["set_aside"] += 1
            continue
        try:
            pipeline.subscribe(
                KIND,
                owner=None,
                resource=call_events_resource(meeting.join_web_url),
                change_type="updated",
                scope=[meeting.pk],
                now=now,
            )
            report["created"] += 1
        except (Forbidden, NotFound, BadRequest) as error:
            # No access policy for the organizer, say: asking again every pass would only
            # be refused again, so the meeting is left alone for a while.
            logger.warning("meeting %s call events refused: %s", meeting.pk, error)
            watching.set_aside(meeting_id, str(error))
            report["failed"] += 1
        except GraphError as error:
            logger.warning("meeting %s call events not subscribed: %s", meeting.pk, error)
            report["failed"] += 1
    return report


def resync(subscription: Subscription) -> int:
    """Nothing to re-read: Graph offers no roster of a meeting to an app outside the call."""
    return 0


def register() -> None:
    """Declare meeting call events to the notification pipeline."""
    registry.register(
        registry.ResourceKind(
            name=KIND,
            handle_changes=handle_call_events,
            maintain=watch_meetings,
            resync=resync,
            max_lifetime=MAX_LIFETIME,
            renew_before=RENEW_BEFORE,
            acts_as="app",
            include_resource_data=True,
            api_version="beta",
        )
    )
