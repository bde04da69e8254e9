"""Change notifications of virtual events: new events of the tenant, and webinar registrations.

https://learn.microsoft.com/graph/changenotifications-for-virtualevent
``solutions/virtualEvents/events`` (created; application ``VirtualEvent.Read.All``) and
``solutions/virtualEvents/webinars/{id}/registrations`` (created, updated; delegated
``VirtualEvent.Read`` or application ``VirtualEvent.Read.All``), each for at most a day and
without resource data: a notification names what changed and the subscriber reads it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sandbox.graph.routing import GraphError, Principal
from sandbox.notifications import publish, register_subscription_resource
from sandbox.notifications.registry import normalize_resource
from sandbox.virtual_events.model import Registration, VirtualEvent

if TYPE_CHECKING:
    from sandbox.state import SandboxState

MAX_MINUTES = 24 * 60
_REGISTRATIONS = re.compile(
    r"solutions/virtualEvents/webinars/(?P<id>[^/?]+)/registrations/?", re.IGNORECASE
)


def _validate_registrations(resource: str, principal: Principal, state: SandboxState) -> None:
    """Refuse a subscription on an unknown webinar, or one the caller may not read."""
    from sandbox.virtual_events.service import area_of

    match = _REGISTRATIONS.fullmatch(normalize_resource(resource))
    event = area_of(state).store.get(match.group("id"), "webinar") if match else None
    if event is None:
        raise GraphError(404, "NotFound", f"The webinar of '{resource}' was not found.")
    if principal.kind == "application":
        if not area_of(state).store.has_policy(event.organizer_id):
            raise GraphError(
                403, "Forbidden", "No application access policy covers the webinar's organizer."
            )
    elif not (event.is_organizer(principal.user_id) or event.is_co_organizer(principal.user_id)):
        raise GraphError(403, "Forbidden", "Only the organizers may watch the registrations.")


EVENTS_RESOURCE = register_subscription_resource(
    "virtualEvents",
    r"solutions/virtualEvents/events/?",
    ("created",),
    MAX_MINUTES,
    (),
    ("VirtualEvent.Read.All",),
    supports_resource_data=False,
)
REGISTRATIONS_RESOURCE = register_subscription_resource(
    "virtualEventRegistrations",
    _REGISTRATIONS.pattern,
    ("created", "updated"),
    MAX_MINUTES,
    ("VirtualEvent.Read", "VirtualEvent.ReadWrite"),
    ("VirtualEvent.Read.All",),
    supports_resource_data=False,
    validate=_validate_registrations,
)


def publish_event_created(state: SandboxState, event: VirtualEvent) -> int:
    """Tell the tenant-wide subscriptions that an event was created."""
    path = f"solutions/virtualEvents/{event.collection}/{event.id}/"
    return publish(
        state,
        "solutions/virtualEvents/events/",
        "created",
        {"@odata.id": path, "@odata.type": "#microsoft.graph.virtualEvent", "id": path},
    )


def publish_registrations(
    state: SandboxState, event: VirtualEvent, registrations: list[Registration], change_type: str
) -> int:
    """Tell a webinar's registration subscriptions what changed; the first is ``change_type``."""
    queued = 0
    resource = f"solutions/virtualEvents/webinars/{event.id}/registrations"
    for index, registration in enumerate(registrations):
        path = f"{resource}/{registration.id}"
        queued += publish(
            state,
            resource,
            change_type if index == 0 else "updated",
            {
                "@odata.id": path,
                "@odata.type": "#microsoft.graph.virtualEventRegistration",
                "id": path,
            },
        )
    return queued
