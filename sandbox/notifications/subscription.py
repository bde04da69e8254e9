"""The subscription record and the store that keeps the live ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.graph.odata_types import format_graph_datetime
from sandbox.notifications.crypto import EncryptionCertificate

__all__ = ["Subscription", "SubscriptionStore", "format_graph_datetime"]


@dataclass
class Subscription:
    """One webhook subscription, as created through ``POST /subscriptions``."""

    id: str
    resource: str
    resource_kind: str  # the name of the registered resource family it matched
    change_types: tuple[str, ...]
    notification_url: str
    expiration: datetime
    application_id: str
    creator_id: str
    tenant_id: str
    user_id: str | None  # the signed-in person for delegated subscriptions
    created_at: datetime
    client_state: str | None = None
    lifecycle_notification_url: str | None = None
    include_resource_data: bool = False
    encryption_certificate: str | None = None
    encryption_certificate_id: str | None = None
    certificate: EncryptionCertificate | None = None
    latest_supported_tls_version: str = "v1_2"
    notification_url_app_id: str | None = None
    notification_query_options: str | None = None
    include_organization_id: bool = False
    # Lifecycle bookkeeping: when the next authorization challenge is due, whether one is
    # unanswered, and whether the "about to expire" challenge was sent for this expiry.
    next_challenge_at: datetime | None = None
    challenge_pending: bool = False
    expiry_challenge_sent: bool = False
    missed_notifications: int = 0
    notifications_sent: int = 0
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def change_type(self) -> str:
        """Return the ``changeType`` string as Graph echoes it."""
        return ",".join(self.change_types)

    def is_expired(self, now: datetime) -> bool:
        """Tell whether the subscription has passed its expiration time."""
        return self.expiration <= now

    def to_graph(self, *, reveal_client_state: bool = True) -> dict[str, Any]:
        """Return the subscription resource as Graph serializes it."""
        return {
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.application_id,
            "changeType": self.change_type,
            "clientState": self.client_state if reveal_client_state else None,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": self.notification_query_options,
            "lifecycleNotificationUrl": self.lifecycle_notification_url,
            "expirationDateTime": format_graph_datetime(self.expiration),
            "creatorId": self.creator_id,
            "includeResourceData": self.include_resource_data,
            "latestSupportedTlsVersion": self.latest_supported_tls_version,
            # Graph never echoes the certificate itself, only the caller's id for it.
            "encryptionCertificate": None,
            "encryptionCertificateId": self.encryption_certificate_id,
            "notificationUrlAppId": self.notification_url_app_id,
            "notificationContentType": "application/json",
        }


class SubscriptionStore:
    """The live subscriptions of the tenant, by id."""

    def __init__(self) -> None:
        self._by_id: dict[str, Subscription] = {}

    def add(self, subscription: Subscription) -> None:
        """Keep a newly created subscription."""
        self._by_id[subscription.id] = subscription

    def get(self, subscription_id: str) -> Subscription | None:
        """Return a subscription by id (case-insensitive, as Graph's ids are GUIDs)."""
        return self._by_id.get(subscription_id.lower())

    def remove(self, subscription_id: str) -> Subscription | None:
        """Forget a subscription and return it, if it existed."""
        return self._by_id.pop(subscription_id.lower(), None)

    def all(self) -> list[Subscription]:
        """Return every stored subscription, oldest first."""
        return sorted(self._by_id.values(), key=lambda item: item.created_at)

    def remove_expired(self, now: datetime) -> list[Subscription]:
        """Drop every subscription whose expiration has passed and return them."""
        expired = [item for item in self._by_id.values() if item.is_expired(now)]
        for item in expired:
            del self._by_id[item.id]
        return expired

    def __len__(self) -> int:
        return len(self._by_id)
