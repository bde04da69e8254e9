"""Certificates Graph encrypts to, and every change-notification subscription the portal holds."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models


class NotificationCertificate(models.Model):
    """A certificate Graph encrypts rich notifications to; its private key is kept encrypted."""

    certificate_id = models.CharField(max_length=128, unique=True)
    certificate_base64 = models.TextField()
    thumbprint = models.CharField(max_length=64)
    # PKCS8 PEM, Fernet-encrypted with TOKEN_ENCRYPTION_KEYS like the token store.
    private_key_ciphertext = models.BinaryField()
    not_valid_after = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    # A retired certificate is no longer given to new subscriptions but still decrypts.
    retired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.certificate_id


class SubscriptionQuerySet(models.QuerySet["Subscription"]):
    """Reads of the subscriptions, chainable."""

    def of_kind(self, kind: str) -> SubscriptionQuerySet:
        """Subscriptions of one registered resource kind."""
        return self.filter(kind=kind)

    def live(self, now: datetime) -> SubscriptionQuerySet:
        """Subscriptions Graph still honours at ``now``."""
        return self.filter(expires_at__gt=now)


class Subscription(models.Model):
    """One Graph change-notification subscription of a registered resource kind."""

    kind = models.CharField(max_length=64)
    graph_id = models.CharField(max_length=64, unique=True)
    client_state = models.CharField(max_length=128)
    resource = models.TextField()
    change_type = models.CharField(max_length=64)
    # Whose delegated token created it and renews it; empty for app-only subscriptions.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_subscriptions",
    )
    # What the subscription covers, in the kind's own terms (presence: the person ids).
    scope = models.JSONField(default=list)
    expires_at = models.DateTimeField()
    certificate = models.ForeignKey(
        NotificationCertificate,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subscriptions",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    renewed_at = models.DateTimeField(null=True, blank=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["kind", "expires_at"], name="notif_sub_kind_expiry")]

    def __str__(self) -> str:
        return f"{self.kind} subscription {self.graph_id}"
