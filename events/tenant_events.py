"""Events planned elsewhere (in Teams itself) reach the portal: the tenant's "created" feed.

https://learn.microsoft.com/graph/changenotifications-for-virtualevent
One app-only subscription on ``solutions/virtualEvents/events`` (created), for at most a day,
without resource data: each notification names a new webinar or town hall, which the handler
reads as the app (the organizer needs an application access policy) and keeps.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

from accounts.graph_clients import graph_for_app
from accounts.models import User
from accounts.token_store import TokenUnavailable
from comms_portal.graph import GraphError, NotFound
from comms_portal.graph import virtual_events as api
from comms_portal.notifications import registry
from comms_portal.notifications import subscriptions as pipeline
from comms_portal.notifications.models import Subscription
from comms_portal.notifications.registry import Change, Handled
from events.models import MAX_DESCRIPTION, MAX_TITLE, VirtualEvent

logger = logging.getLogger(__name__)

KIND = "virtual-events"
RESOURCE = "solutions/virtualEvents/events"
MAX_LIFETIME = timedelta(hours=23)
RENEW_BEFORE = timedelta(hours=4)
_EVENT = re.compile(
    r"^/?solutions/virtualEvents/(?P<collection>webinars|townhalls)/(?P<id>[^/]+)/?$",
    re.IGNORECASE,
)
# The Windows zones Graph writes most often; anything else is read as UTC.
WINDOWS_ZONES = {
    "pacific standard time": "America/Los_Angeles",
    "eastern standard time": "America/New_York",
    "central standard time": "America/Chicago",
    "gmt standard time": "Europe/London",
    "w. europe standard time": "Europe/Berlin",
    "tokyo standard time": "Asia/Tokyo",
    "india standard time": "Asia/Kolkata",
}


def moment_of(value: Any) -> datetime | None:
    """Read a dateTimeTimeZone as an aware moment."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        return None
    name = str(value.get("timeZone") or "UTC")
    try:
        zone = ZoneInfo(WINDOWS_ZONES.get(name.lower(), name))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    try:
        local = datetime.fromisoformat(value["dateTime"][:19])
    except ValueError:
        return None
    return local.replace(tzinfo=zone).astimezone(UTC)


def keep(data: dict[str, Any], collection: str) -> VirtualEvent | None:
    """Store (or refresh) an event Graph described; None when its times are unreadable."""
    starts, ends = moment_of(data.get("startDateTime")), moment_of(data.get("endDateTime"))
    if starts is None or ends is None:
        return None
    organizer = ((data.get("createdBy") or {}).get("user") or {}).get("id") or ""
    description = data.get("description") or {}
    fields = {
        "kind": VirtualEvent.Kind.WEBINAR
        if collection == "webinars"
        else VirtualEvent.Kind.TOWNHALL,
        "status": str(data.get("status") or "draft")[:10],
        "title": str(data.get("displayName") or "Untitled event")[:MAX_TITLE],
        "description": str(
            description.get("content") if isinstance(description, dict) else description or ""
        )[:MAX_DESCRIPTION],
        "starts_at": starts,
        "ends_at": ends,
        "audience": str(data.get("audience") or "organization")[:16],
        "is_invite_only": bool(data.get("isInviteOnly")),
        "organizer_graph_id": str(organizer)[:64],
        "organizer": User.objects.filter(object_id=organizer).first() if organizer else None,
        "co_organizer_ids": [
            str(one.get("id")) for one in data.get("coOrganizers") or [] if isinstance(one, dict)
        ],
        "invited_ids": [
            str(one.get("id"))
            for one in data.get("invitedAttendees") or []
            if isinstance(one, dict) and one.get("id")
        ],
    }
    event, _ = VirtualEvent.objects.update_or_create(graph_id=str(data["id"]), defaults=fields)
    return event


def handle_created_events(changes: Sequence[Change]) -> Handled:
    """Read and keep each new event a notification names."""
    handled = Handled()
    client = None
    for change in changes:
        match = _EVENT.match(change.resource_id or "")
        if match is None:
            handled.drop(f"not an event: {str(change.resource_id)[:120]!r}")
            continue
        if VirtualEvent.objects.filter(graph_id__iexact=match.group("id")).exists():
            continue  # made here, or told before: nothing new
        client = client or graph_for_app()
        collection = match.group("collection").lower()
        try:
            data = api.get_event(client, collection, match.group("id"))  # type: ignore[arg-type]
        except NotFound:
            handled.drop("the event no longer exists")
            continue
        if keep(data, collection) is None:
            handled.drop("the event's times are unreadable")
            continue
        handled.changed += 1
    return handled


def keep_subscribed() -> list[str]:
    """Hold the one tenant-wide subscription, renewing it in time."""
    now = timezone.now()
    held = list(Subscription.objects.of_kind(KIND))
    for subscription in held[1:]:
        pipeline.drop(subscription)
    if held and held[0].expires_at > now:
        subscription = held[0]
        if pipeline.is_due(subscription, now):
            try:
                pipeline.renew(subscription, now=now)
            except (GraphError, TokenUnavailable) as error:
                logger.warning("renewing %s failed: %s", subscription.graph_id, error)
        return [subscription.graph_id]
    if held:
        pipeline.forget(held[0])
    try:
        made = pipeline.subscribe(
            KIND, owner=None, resource=RESOURCE, change_type="created", scope=["tenant"], now=now
        )
    except (GraphError, TokenUnavailable) as error:
        logger.warning("subscribing to the tenant's events failed: %s", error)
        return []
    return [made.graph_id]


def register() -> None:
    """Declare the tenant's new events to the notification pipeline."""
    registry.register(
        registry.ResourceKind(
            name=KIND,
            handle_changes=handle_created_events,
            maintain=keep_subscribed,
            # Graph lists no way to read "what was created meanwhile"; upkeep re-subscribes.
            resync=lambda subscription: 0,
            max_lifetime=MAX_LIFETIME,
            renew_before=RENEW_BEFORE,
            acts_as="app",
            include_resource_data=False,
        )
    )
