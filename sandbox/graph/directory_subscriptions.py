"""Change notifications for directory users: the subscribable resource and its publisher.

https://learn.microsoft.com/graph/api/resources/subscription#maximum-length-of-subscription-per-resource-type
Users support ``updated`` and ``deleted`` and live up to 41,760 minutes (under 29 days).
Graph itself does not offer ``includeResourceData`` for users; the sandbox does, so the
encrypted path can be exercised end to end before the presence and meeting resources exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.graph.routing import GraphError, Principal
from sandbox.notifications import hub_of, publish, register_subscription_resource
from sandbox.notifications.registry import EVERY_RESOURCE_GETS

if TYPE_CHECKING:
    from sandbox.state import SandboxState
    from sandbox.tenant import User

USER_SUBSCRIPTION_MAX_MINUTES = 41760


def _validate_users_resource(resource: str, principal: Principal, state: SandboxState) -> None:
    """Refuse a subscription on one user who is not in the directory."""
    parts = resource.strip().strip("/").split("/")
    if len(parts) == 2 and state.tenant.directory_user(parts[1]) is None:
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{parts[1]}' does not exist or one of its queried reference-property "
            "objects are not present.",
        )


# https://learn.microsoft.com/graph/api/subscription-post-subscriptions (user: User.Read.All)
USERS = register_subscription_resource(
    "users",
    r"users(/[^/?]+)?/?",
    ("updated", "deleted"),
    USER_SUBSCRIPTION_MAX_MINUTES,
    ("User.Read.All",),
    ("User.Read.All",),
    validate=_validate_users_resource,
    # Graph lists users for neither subscriptionRemoved nor missed: reauthorization only.
    lifecycle_events=EVERY_RESOURCE_GETS,
)


def publish_user_change(state: SandboxState, user: User, change_type: str) -> int:
    """Notify subscribers that ``user`` was updated or deleted; return the number queued."""
    resource = f"Users/{user.id}"
    resource_data = {
        "@odata.type": "#Microsoft.Graph.User",
        "@odata.id": resource,
        "id": user.id,
        "organizationId": state.tenant.tenant_id,
        "sequenceNumber": user.change_sequence,
    }
    rich = (
        None
        if change_type == "deleted"
        else {"@odata.type": "#microsoft.graph.user", **user.to_graph()}
    )
    queued = publish(state, resource, change_type, resource_data, rich_payload=rich)
    if change_type == "deleted":
        # A deleted person's delegated subscriptions cannot be served any longer. (Graph
        # tells such removals only for the resources that get subscriptionRemoved.)
        hub = hub_of(state)
        for subscription in hub.subscriptions.all():
            if subscription.user_id == user.id:
                hub.remove(subscription.id, notify=True)
    return queued
