"""Change-notification subscriptions: create, read, renew, reauthorize, delete."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from comms_portal.graph.http import GraphClient, GraphResponse, quote_segment
from comms_portal.graph.models import GraphModel, parse_model
from comms_portal.graph.paging import iter_items

# subscription.clientState is limited to 128 characters.
MAX_CLIENT_STATE_LENGTH = 128


class Subscription(GraphModel):
    """A change-notification subscription."""

    # https://learn.microsoft.com/graph/api/resources/subscription
    id: str
    resource: str
    change_type: str = Field(alias="changeType")
    expiration_date_time: datetime = Field(alias="expirationDateTime")
    notification_url: str | None = Field(default=None, alias="notificationUrl")
    lifecycle_notification_url: str | None = Field(default=None, alias="lifecycleNotificationUrl")
    client_state: str | None = Field(default=None, alias="clientState")
    include_resource_data: bool | None = Field(default=None, alias="includeResourceData")
    encryption_certificate_id: str | None = Field(default=None, alias="encryptionCertificateId")
    application_id: str | None = Field(default=None, alias="applicationId")
    creator_id: str | None = Field(default=None, alias="creatorId")


def format_expiration(moment: datetime) -> str:
    """Write a timezone-aware time the way Graph expects expirationDateTime (UTC, Z)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("Subscription expiration must be a timezone-aware datetime.")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _subscription(document: object, response: GraphResponse) -> Subscription:
    return parse_model(
        Subscription,
        document,
        what="subscription",
        request_id=response.request_id,
        client_request_id=response.client_request_id,
    )


def create_subscription(
    client: GraphClient,
    *,
    resource: str,
    change_type: str,
    notification_url: str,
    expiration: datetime,
    client_state: str,
    lifecycle_notification_url: str | None = None,
    include_resource_data: bool = False,
    encryption_certificate: str | None = None,
    encryption_certificate_id: str | None = None,
) -> Subscription:
    """Subscribe ``notification_url`` to changes of ``resource``."""
    # https://learn.microsoft.com/graph/api/subscription-post-subscriptions
    if not resource.strip() or not change_type.strip():
        raise ValueError("resource and change_type are required.")
    if not client_state or len(client_state) > MAX_CLIENT_STATE_LENGTH:
        raise ValueError(f"client_state must be 1 to {MAX_CLIENT_STATE_LENGTH} characters.")
    if include_resource_data and not (encryption_certificate and encryption_certificate_id):
        raise ValueError(
            "Rich notifications (include_resource_data) need encryption_certificate "
            "and encryption_certificate_id."
        )
    body: dict[str, Any] = {
        "changeType": change_type,
        "notificationUrl": notification_url,
        "resource": resource,
        "expirationDateTime": format_expiration(expiration),
        "clientState": client_state,
    }
    if lifecycle_notification_url is not None:
        body["lifecycleNotificationUrl"] = lifecycle_notification_url
    if include_resource_data:
        body["includeResourceData"] = True
    if encryption_certificate is not None:
        body["encryptionCertificate"] = encryption_certificate
    if encryption_certificate_id is not None:
        body["encryptionCertificateId"] = encryption_certificate_id
    # Not retried on a gateway timeout: Graph may have created it, and a second is a 409.
    response = client.post("/subscriptions", body)
    return _subscription(response.json_object(), response)


def get_subscription(client: GraphClient, subscription_id: str) -> Subscription:
    """Return one subscription."""
    # https://learn.microsoft.com/graph/api/subscription-get
    response = client.send("GET", f"/subscriptions/{quote_segment(subscription_id)}")
    return _subscription(response.json_object(), response)


def list_subscriptions(client: GraphClient) -> Iterator[Subscription]:
    """Yield the subscriptions this application (or person) holds."""
    # https://learn.microsoft.com/graph/api/subscription-list
    return iter_items(client, "/subscriptions", _subscription)


def renew_subscription(
    client: GraphClient,
    subscription_id: str,
    *,
    expiration: datetime,
    encryption_certificate: str | None = None,
    encryption_certificate_id: str | None = None,
) -> Subscription:
    """Extend a subscription, optionally switching its encryption certificate."""
    # https://learn.microsoft.com/graph/api/subscription-update
    if (encryption_certificate is None) != (encryption_certificate_id is None):
        raise ValueError("Give both encryption_certificate and its id, or neither.")
    body: dict[str, Any] = {"expirationDateTime": format_expiration(expiration)}
    if encryption_certificate is not None:
        body["encryptionCertificate"] = encryption_certificate
        body["encryptionCertificateId"] = encryption_certificate_id
    # Setting an absolute expiry twice has the same effect as once: safe to repeat.
    response = client.send(
        "PATCH",
        f"/subscriptions/{quote_segment(subscription_id)}",
        json_body=body,
        retry_safe=True,
    )
    return _subscription(response.json_object(), response)


def reauthorize_subscription(client: GraphClient, subscription_id: str) -> None:
    """Answer a reauthorizationRequired lifecycle event."""
    # https://learn.microsoft.com/graph/api/subscription-reauthorize
    client.send(
        "POST", f"/subscriptions/{quote_segment(subscription_id)}/reauthorize", retry_safe=True
    )


def delete_subscription(client: GraphClient, subscription_id: str) -> None:
    """Delete a subscription."""
    # https://learn.microsoft.com/graph/api/subscription-delete
    client.send("DELETE", f"/subscriptions/{quote_segment(subscription_id)}")
