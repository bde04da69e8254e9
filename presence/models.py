"""What people ask of the directory (favourites, alerts) and the presence engine's records."""

from __future__ import annotations

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


class WallPreference(models.Model):
    """How someone likes the wall shown: cards or a list, its order and grouping."""

    LAYOUTS = [("cards", "Cards"), ("list", "List")]
    SORTS = [
        ("name", "Name"),
        ("availability", "Available first"),
        ("since", "Recently changed"),
        ("activity", "Activity"),
        ("department", "Department"),
        ("job_title", "Job title"),
    ]
    GROUPS = [("none", "No grouping"), ("department", "Department"), ("manager", "Team (manager)")]

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wall_preference"
    )
    layout = models.CharField(max_length=16, choices=LAYOUTS, default="cards")
    sort = models.CharField(max_length=16, choices=SORTS, default="name")
    descending = models.BooleanField(default=False)
    group = models.CharField(max_length=16, choices=GROUPS, default="none")
    # Read out (a polite live region) when favourites and people waited for change availability.
    announce_changes = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.layout} by {self.sort}"
