"""What people ask of the directory (favourites, alerts) and the presence engine's records."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from directory.models import Person


class Favourite(models.Model):
    """A colleague someone pinned to the top of their wall."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites"
    )
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "person"], name="unique_favourite")]

    def __str__(self) -> str:
        return f"{self.user} ★ {self.person}"


class AvailabilityAlert(models.Model):
    """ "Tell me when they are available": fires once, then stays as history."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability_alerts"
    )
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "person"],
                condition=Q(fired_at__isnull=True),
                name="one_waiting_alert_per_person",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} waits for {self.person}"


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


class PresenceSubscriptionQuerySet(models.QuerySet["PresenceSubscription"]):
    """Reads of the presence subscriptions, chainable."""

    def live(self, now: datetime) -> PresenceSubscriptionQuerySet:
        """Subscriptions Graph still honours at ``now``."""
        return self.filter(expires_at__gt=now)


class PresenceSubscription(models.Model):
    """One delegated presence subscription, owned by a signed-in person, covering <= 650 ids."""

    # Graph allows one presence subscription per person per application.
    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence_subscription"
    )
    graph_id = models.CharField(max_length=64, unique=True)
    client_state = models.CharField(max_length=128)
    person_ids = models.JSONField(default=list)
    expires_at = models.DateTimeField()
    certificate = models.ForeignKey(
        NotificationCertificate, on_delete=models.PROTECT, related_name="subscriptions"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    renewed_at = models.DateTimeField(null=True, blank=True)

    objects = PresenceSubscriptionQuerySet.as_manager()

    def __str__(self) -> str:
        return f"presence subscription {self.graph_id} ({len(self.person_ids)} people)"
