"""Presence change notifications: the subscribable resources and the publisher.

https://learn.microsoft.com/graph/changenotifications-for-presence
``communications/presences/{id}`` and ``communications/presences?$filter=id in (...)`` (at
most 650 ids), ``updated`` only, delegated ``Presence.Read.All`` only, at most 60 minutes,
notifications with resource data (so an encryption certificate is required), and one presence
subscription per person per application. Both resource forms count against that one
subscription, so they are registered as one family.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from sandbox.graph.routing import GraphError, Principal
from sandbox.notifications import hub_of, publish, register_subscription_resource
from sandbox.notifications.registry import (
    EVERY_RESOURCE_GETS,
    filtered_ids,
    normalize_resource,
)
from sandbox.presence.model import PersonPresence, presence_json

if TYPE_CHECKING:
    from sandbox.state import SandboxState

PRESENCE_SUBSCRIPTION_MAX_MINUTES = 60
PRESENCE_SUBSCRIPTION_MAX_IDS = 650
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def _validate_presence_resource(resource: str, principal: Principal, state: SandboxState) -> None:
    """Refuse ids that are not object ids, and a single-person subscription on nobody."""
    by_ids = filtered_ids(resource)
    if by_ids is not None:
        if by_ids[0].lower() != "communications/presences":
            raise GraphError(400, "InvalidRequest", f"The resource '{resource}' is not supported.")
        ids = by_ids[1]
    else:
        ids = [normalize_resource(resource).rstrip("/").split("/")[-1]]
    for user_id in ids:
        if not GUID.match(user_id.strip()):
            raise GraphError(
                400,
                "InvalidRequest",
                f"'{user_id}' is not a user object id; presence subscriptions take GUIDs.",
            )
    if by_ids is None and state.tenant.directory_user(ids[0]) is None:
        raise GraphError(404, "NotFound", f"The user '{ids[0]}' was not found.")


# https://learn.microsoft.com/graph/changenotifications-for-presence
PRESENCES = register_subscription_resource(
    "presences",
    r"communications/presences/[^/?]+/?|communications/presences/?\?\$filter=.*",
    ("updated",),
    PRESENCE_SUBSCRIPTION_MAX_MINUTES,
    ("Presence.Read.All",),
    (),  # application permissions are not supported
    requires_encryption=True,
    max_ids=PRESENCE_SUBSCRIPTION_MAX_IDS,
    per_user_per_app_limit=1,
    validate=_validate_presence_resource,
    include_organization_id=True,
    # Graph lists presence for neither subscriptionRemoved nor missed: reauthorization only.
    lifecycle_events=EVERY_RESOURCE_GETS,
)


@functools.lru_cache(maxsize=4096)
def watched_ids(resource: str) -> frozenset[str]:
    """Return the lowercase user ids a presence subscription's resource names."""
    by_ids = filtered_ids(resource)
    if by_ids is not None:
        return frozenset(one.strip().lower() for one in by_ids[1])
    return frozenset({normalize_resource(resource).rstrip("/").split("/")[-1].lower()})


def publish_presence(state: SandboxState, person: PersonPresence) -> int:
    """Notify every subscription watching this person; return how many were queued."""
    user_id = person.user_id.lower()
    # The simulator changes many people at once; most of them nobody watches.
    if not any(
        subscription.resource_kind == PRESENCES.name
        and user_id in watched_ids(subscription.resource)
        for subscription in hub_of(state).subscriptions.all()
    ):
        return 0
    resource = f"communications/presences/{person.user_id}"
    stub = {
        "@odata.type": "#microsoft.graph.presence",
        "@odata.id": f"users/{person.user_id}/presence",
        "id": person.user_id,
    }
    # Subscribers watch other people, so the owner-only status message times stay hidden.
    rich = {**stub, **presence_json(person, owner=False)}
    return publish(state, resource, "updated", stub, rich_payload=rich)
