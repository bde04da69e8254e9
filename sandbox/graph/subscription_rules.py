"""The rules a subscription request must satisfy, as Graph documents them.

https://learn.microsoft.com/graph/api/resources/subscription
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sandbox.graph.odata_types import parse_graph_datetime
from sandbox.graph.routing import GraphError, Principal
from sandbox.notifications.hub import NotificationHub
from sandbox.notifications.registry import SubscriptionResource, normalize_resource

SUBSCRIPTION_READ_ALL = "Subscription.Read.All"

CHANGE_TYPES = ("created", "updated", "deleted")
TLS_VERSIONS = ("v1_0", "v1_1", "v1_2", "v1_3")
CLIENT_STATE_MAX = 128
CERTIFICATE_ID_MAX = 128

WRITABLE_ON_CREATE = frozenset(
    {
        "changeType",
        "notificationUrl",
        "lifecycleNotificationUrl",
        "resource",
        "expirationDateTime",
        "clientState",
        "includeResourceData",
        "encryptionCertificate",
        "encryptionCertificateId",
        "latestSupportedTlsVersion",
        "notificationUrlAppId",
        "notificationQueryOptions",
    }
)
# Read-only properties a client may echo back; Graph ignores them.
READ_ONLY = frozenset({"id", "applicationId", "creatorId", "notificationContentType"})
# Rotating keys is done by renewing with the new certificate and its id
# (https://learn.microsoft.com/graph/change-notifications-with-resource-data#rotating-keys).
WRITABLE_ON_UPDATE = frozenset(
    {"expirationDateTime", "notificationUrl", "encryptionCertificate", "encryptionCertificateId"}
)


def check_properties(body: dict[str, Any], writable: frozenset[str]) -> None:
    """Refuse properties the subscription type does not have, as Graph's OData layer does."""
    for name, value in body.items():
        if name == "@odata.type":
            if str(value).lstrip("#").lower() != "microsoft.graph.subscription":
                raise GraphError(
                    400,
                    "BadRequest",
                    f"The @odata.type {value!r} is not microsoft.graph.subscription.",
                )
            continue
        if name.startswith("@odata.") or name in writable or name in READ_ONLY:
            continue
        if name in WRITABLE_ON_CREATE:
            raise GraphError(
                400,
                "InvalidRequest",
                f"The property '{name}' cannot be changed after the subscription is created; "
                "delete the subscription and create a new one.",
            )
        raise GraphError(
            400,
            "BadRequest",
            f"Invalid request: The property '{name}' does not exist on type "
            "'microsoft.graph.subscription'. Make sure to only use property names that are "
            "defined by the type or mark the type as open type.",
        )


def read_string(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    """Return the string property ``name``, or None; refuse other JSON types."""
    value = body.get(name)
    if value is None:
        if required:
            raise GraphError(
                400, "InvalidRequest", f"{name} is a required property for subscription creation."
            )
        return None
    if not isinstance(value, str):
        raise GraphError(400, "BadRequest", f"The property '{name}' must be a string.")
    return value


def parse_change_types(text: str, entry: SubscriptionResource) -> tuple[str, ...]:
    """Split a ``changeType`` list and check each kind against the resource."""
    parts = [part.strip().lower() for part in text.split(",")]
    if not parts or any(part not in CHANGE_TYPES for part in parts):
        raise GraphError(
            400,
            "InvalidRequest",
            f"Invalid changeType '{text}'. Use a comma-separated list of "
            "created, updated, deleted.",
        )
    unsupported = [part for part in parts if part not in entry.change_types]
    if unsupported:
        allowed = ", ".join(sorted(entry.change_types))
        raise GraphError(
            400,
            "InvalidRequest",
            f"changeType '{unsupported[0]}' is not supported for {entry.name}; "
            f"supported: {allowed}.",
        )
    return tuple(dict.fromkeys(parts))


def parse_expiration(text: str | None, entry: SubscriptionResource, now: datetime) -> datetime:
    """Parse ``expirationDateTime`` and check it lies between now and the resource maximum."""
    if text is None:
        raise GraphError(
            400,
            "InvalidRequest",
            "expirationDateTime is a required property for subscription creation.",
        )
    try:
        expiration = parse_graph_datetime(text)
    except ValueError as exc:
        raise GraphError(400, "BadRequest", f"Invalid expirationDateTime: {exc}") from exc
    if expiration <= now:
        raise GraphError(
            400,
            "InvalidRequest",
            "Subscription expiration must be in the future; expirationDateTime "
            f"{text} has already passed.",
        )
    if expiration > now + timedelta(minutes=entry.max_expiration_minutes):
        raise GraphError(
            400,
            "InvalidRequest",
            f"Subscription expiration can only be {entry.max_expiration_minutes} minutes in "
            "the future.",
        )
    return expiration


def check_permission(entry: SubscriptionResource, principal: Principal) -> None:
    """Refuse a caller lacking every permission the resource accepts for its token kind."""
    allowed = entry.allowed_permissions(principal)
    if not allowed:
        raise GraphError(
            403,
            "Authorization_RequestDenied",
            f"Subscriptions on {entry.name} do not support {principal.kind} permissions.",
        )
    granted = {name.lower() for name in principal.permissions}
    if not any(name.lower() in granted for name in allowed):
        raise GraphError(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation. A subscription on "
            f"{entry.name} needs one of: {', '.join(allowed)}.",
        )


def creator_id(principal: Principal) -> str:
    """Return the ``creatorId``: the signed-in user, else the app's service principal."""
    if principal.user_id is not None:
        return principal.user_id
    # App-only tokens carry the service principal's object id as ``oid``.
    return str(principal.claims.get("oid") or principal.app_id)


def check_duplicate_and_quotas(
    hub: NotificationHub,
    entry: SubscriptionResource,
    principal: Principal,
    resource: str,
    change_types: tuple[str, ...],
    notification_url: str,
) -> None:
    """Refuse a duplicate (409) or a subscription beyond a documented quota (403)."""
    live = [item for item in hub.subscriptions.all() if item.tenant_id == principal.tenant_id]
    wanted = normalize_resource(resource).lower()
    for item in live:
        if (
            item.application_id == principal.app_id
            and normalize_resource(item.resource).lower() == wanted
            and set(item.change_types) == set(change_types)
            and item.notification_url == notification_url
        ):
            raise GraphError(
                409,
                "Conflict",
                f"Subscription Id {item.id} already exists for the requested combination.",
            )
    same_kind = [item for item in live if item.resource_kind == entry.name]
    if entry.per_user_per_app_limit is not None:
        mine = [
            item
            for item in same_kind
            if item.application_id == principal.app_id and item.user_id == principal.user_id
        ]
        if len(mine) >= entry.per_user_per_app_limit:
            who = "user" if principal.user_id is not None else "application"
            raise GraphError(
                403,
                "Forbidden",
                f"Subscription quota reached: at most {entry.per_user_per_app_limit} "
                f"subscription(s) on {entry.name} per {who} per application.",
            )
    if entry.org_quota is not None and len(same_kind) >= entry.org_quota:
        raise GraphError(
            403,
            "Forbidden",
            f"Subscription quota reached: at most {entry.org_quota} subscriptions on "
            f"{entry.name} per organization.",
        )
