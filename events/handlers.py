"""What events register with the notification pipeline: a webinar's registrations.

https://learn.microsoft.com/graph/changenotifications-for-virtualevent
One subscription per published webinar on ``solutions/virtualEvents/webinars/{id}/registrations``
(created and updated), kept with the app's token, for at most a day, without resource data:
each notification names a registration, which the handler reads (as the app) and stores.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from accounts.graph_clients import graph_for_app
from accounts.token_store import TokenUnavailable
from comms_portal.graph import GraphError, NotFound
from comms_portal.graph import virtual_events as api
from comms_portal.notifications import registry
from comms_portal.notifications import subscriptions as pipeline
from comms_portal.notifications.models import Subscription
from comms_portal.notifications.registry import Change, Handled
from events import services
from events.models import Registration, VirtualEvent

logger = logging.getLogger(__name__)

KIND = "event-registrations"
# Graph keeps these at most a day; renewed well before.
MAX_LIFETIME = timedelta(hours=23)
RENEW_BEFORE = timedelta(hours=4)
_REGISTRATION = re.compile(
    r"^/?solutions/virtualEvents/webinars/(?P<event>[^/]+)/registrations/(?P<id>[^/]+)/?$",
    re.IGNORECASE,
)


def resource_of(event: VirtualEvent) -> str:
    return f"solutions/virtualEvents/webinars/{event.graph_id}/registrations"


def handle_registration_changes(changes: Sequence[Change]) -> Handled:
    """Read and store each registration a notification names; tell the open consoles."""
    handled = Handled()
    client = None
    changed: dict[int, list[Registration]] = {}
    events: dict[int, VirtualEvent] = {}
    for change in changes:
        match = _REGISTRATION.match(change.resource_id or "")
        if match is None:
            handled.drop(f"not a registration: {str(change.resource_id)[:120]!r}")
            continue
        event_id = match.group("event")
        covered = [str(one).lower() for one in change.subscription.scope]
        if event_id.lower() not in covered:
            handled.drop(f"registration of {event_id[:80]} is outside its subscription")
            continue
        event = VirtualEvent.objects.filter(graph_id__iexact=event_id).first()
        if event is None:
            handled.drop(f"webinar {event_id[:80]} is not known here")
            continue
        client = client or graph_for_app()
        try:
            data = api.get_registration(client, event.graph_id, match.group("id"))
        except NotFound:
            handled.drop("the registration no longer exists")
            continue
        registration, did_change = services.upsert_registration(event, data)
        if did_change:
            events[event.pk] = event
            changed.setdefault(event.pk, []).append(registration)
            handled.changed += 1
    for pk, registrations in changed.items():
        services.announce(events[pk], registrations)
    return handled


@dataclass
class MaintainReport:
    created: list[str] = field(default_factory=list)
    renewed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def keep_covered() -> MaintainReport:
    """Hold one subscription per published webinar that has not ended; drop the others."""
    report = MaintainReport()
    now = timezone.now()
    wanted = {
        event.graph_id.lower(): event
        for event in VirtualEvent.objects.filter(
            kind=VirtualEvent.Kind.WEBINAR,
            status=VirtualEvent.Status.PUBLISHED,
            ends_at__gt=now,
        )
    }
    for subscription in Subscription.objects.of_kind(KIND):
        key = str((subscription.scope or [""])[0]).lower()
        if key not in wanted or subscription.expires_at <= now:
            if subscription.expires_at <= now:
                pipeline.forget(subscription)
            else:
                pipeline.drop(subscription)
            report.dropped.append(subscription.graph_id)
            continue
        if pipeline.is_due(subscription, now):
            try:
                if pipeline.renew(subscription, now=now) is None:
                    continue
                report.renewed.append(subscription.graph_id)
            except (GraphError, TokenUnavailable) as error:
                logger.warning("renewing %s failed: %s", subscription.graph_id, error)
        wanted.pop(key)
    for event in wanted.values():
        try:
            made = pipeline.subscribe(
                KIND,
                owner=None,
                resource=resource_of(event),
                change_type="created,updated",
                scope=[event.graph_id],
                now=now,
            )
        except (GraphError, TokenUnavailable) as error:
            logger.warning("subscribing to %s failed: %s", event.graph_id, error)
            continue
        report.created.append(made.graph_id)
        # What arrived before the subscription existed.
        resync(made)
    return report


def resync(subscription: Subscription) -> int:
    """Read every registration of the subscription's webinar again."""
    event_id = str((subscription.scope or [""])[0])
    event = VirtualEvent.objects.filter(graph_id__iexact=event_id).first()
    if event is None:
        return 0
    try:
        return services.sync_registrations(event)
    except GraphError as error:
        logger.warning("re-reading the registrations of %s failed: %s", event_id, error)
        return 0


def register() -> None:
    """Declare webinar registrations to the notification pipeline."""
    registry.register(
        registry.ResourceKind(
            name=KIND,
            handle_changes=handle_registration_changes,
            maintain=keep_covered,
            resync=resync,
            max_lifetime=MAX_LIFETIME,
            renew_before=RENEW_BEFORE,
            acts_as="app",
            include_resource_data=False,
        )
    )
