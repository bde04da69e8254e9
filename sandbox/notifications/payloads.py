"""The JSON Graph posts to a notification endpoint: change and lifecycle notifications.

https://learn.microsoft.com/graph/api/resources/changenotificationcollection
https://learn.microsoft.com/graph/api/resources/changenotification
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from sandbox.graph.odata_types import format_graph_datetime
from sandbox.notifications.crypto import encrypt_resource_data
from sandbox.notifications.subscription import Subscription

LifecycleEvent = Literal["reauthorizationRequired", "missed", "subscriptionRemoved"]


def change_notification(
    subscription: Subscription,
    *,
    change_type: str,
    resource: str,
    resource_data: dict[str, Any],
    rich_payload: dict[str, Any] | None,
) -> dict[str, Any]:
    """Build one change notification for ``subscription``, encrypting the payload if asked."""
    notification: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": format_graph_datetime(subscription.expiration),
        "changeType": change_type,
        "resource": resource,
        "resourceData": dict(resource_data),
        "clientState": subscription.client_state,
        "tenantId": subscription.tenant_id,
    }
    if subscription.include_organization_id:
        notification["organizationId"] = subscription.tenant_id
    # A deleted resource has nothing left to carry, so its notification stays basic.
    if (
        subscription.include_resource_data
        and subscription.certificate is not None
        and rich_payload is not None
    ):
        notification["encryptedContent"] = encrypt_resource_data(
            rich_payload,
            subscription.certificate,
            subscription.encryption_certificate_id or "",
        )
    return notification


def lifecycle_notification(subscription: Subscription, event: LifecycleEvent) -> dict[str, Any]:
    """Build one lifecycle notification for ``subscription``."""
    return {
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": format_graph_datetime(subscription.expiration),
        "tenantId": subscription.tenant_id,
        "clientState": subscription.client_state,
        "lifecycleEvent": event,
    }


def notification_collection(
    notifications: list[dict[str, Any]], validation_tokens: list[str] | None
) -> dict[str, Any]:
    """Wrap notifications into the collection Graph posts, with tokens for rich ones."""
    collection: dict[str, Any] = {"value": notifications}
    if validation_tokens:
        collection["validationTokens"] = validation_tokens
    return collection
