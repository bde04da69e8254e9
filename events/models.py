"""Webinars and town halls as the portal keeps them: a copy of Graph's, for pages and exports."""

from __future__ import annotations

from django.conf import settings
from django.db import models

MAX_TITLE = 255
MAX_DESCRIPTION = 4_000


class VirtualEvent(models.Model):
    """A Teams webinar or town hall the portal created or learnt of."""

    class Kind(models.TextChoices):
        WEBINAR = "webinar", "Webinar"
        TOWNHALL = "townhall", "Town hall"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        CANCELED = "canceled", "Canceled"

    class Audience(models.TextChoices):
        ORGANIZATION = "organization", "People in the organization"
        EVERYONE = "everyone", "Everyone, also outside the organization"

    graph_id = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    title = models.CharField(max_length=MAX_TITLE)
    description = models.TextField(blank=True, max_length=MAX_DESCRIPTION)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # The zone the organizer planned in (shown beside the reader's own).
    time_zone = models.CharField(max_length=64, default="UTC")
    audience = models.CharField(max_length=16, choices=Audience.choices)
    is_invite_only = models.BooleanField(default=False)
    capacity = models.PositiveIntegerField(null=True, blank=True)
    registration_web_url = models.CharField(max_length=500, blank=True)
    organizer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    organizer_graph_id = models.CharField(max_length=64)
    # Entra object ids of the co-organizers, presenters from the directory and town hall invitees.
    co_organizer_ids = models.JSONField(default=list)
    invited_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status", "starts_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def collection(self) -> str:
        return "webinars" if self.kind == self.Kind.WEBINAR else "townhalls"

    @property
    def is_webinar(self) -> bool:
        return self.kind == self.Kind.WEBINAR


class Presenter(models.Model):
    """A presenter of an event: a person of the directory, or a guest."""

    event = models.ForeignKey(VirtualEvent, on_delete=models.CASCADE, related_name="presenters")
    graph_id = models.CharField(max_length=64)
    person_graph_id = models.CharField(max_length=64, blank=True)
    display_name = models.CharField(max_length=255)
    email = models.CharField(max_length=254, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "graph_id"], name="one_presenter_per_id")
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_guest(self) -> bool:
        return not self.person_graph_id


class Question(models.Model):
    """A custom registration question of a webinar."""

    class InputType(models.TextChoices):
        TEXT = "text", "Short text"
        MULTILINE = "multilineText", "Long text"
        SINGLE = "singleChoice", "One choice"
        MULTI = "multiChoice", "Several choices"
        BOOLEAN = "boolean", "Yes or no"

    event = models.ForeignKey(VirtualEvent, on_delete=models.CASCADE, related_name="questions")
    graph_id = models.CharField(max_length=64)
    position = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=255)
    input_type = models.CharField(max_length=16, choices=InputType.choices)
    choices = models.JSONField(default=list)
    is_required = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.text


class Registration(models.Model):
    """One registration for a webinar, as Graph last told us."""

    class Status(models.TextChoices):
        REGISTERED = "registered", "Registered"
        WAITLISTED = "waitlisted", "Wait-listed"
        CANCELED = "canceled", "Canceled"

    event = models.ForeignKey(VirtualEvent, on_delete=models.CASCADE, related_name="registrations")
    graph_id = models.CharField(max_length=64)
    user_graph_id = models.CharField(max_length=64, blank=True, db_index=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=254, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices)
    registered_at = models.DateTimeField()
    canceled_at = models.DateTimeField(null=True, blank=True)
    answers = models.JSONField(default=list)
    # Lower-cased name and e-mail address, which the table's search reads.
    search_text = models.CharField(max_length=460, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "graph_id"], name="one_registration_per_id")
        ]
        indexes = [
            models.Index(fields=["event", "registered_at"]),
            models.Index(fields=["event", "status", "registered_at"]),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


class Session(models.Model):
    """A session of an event, with what its attendance reports said."""

    event = models.ForeignKey(VirtualEvent, on_delete=models.CASCADE, related_name="sessions")
    graph_id = models.CharField(max_length=64)
    subject = models.CharField(max_length=255, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    join_url = models.CharField(max_length=1000, blank=True)
    attendance_read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["event", "graph_id"], name="one_session_per_id")
        ]

    def __str__(self) -> str:
        return self.subject


class Attendance(models.Model):
    """One attendee's time in a session (metadata only)."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="attendance")
    report_graph_id = models.CharField(max_length=64)
    display_name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=254, blank=True)
    role = models.CharField(max_length=32, blank=True)
    seconds = models.PositiveIntegerField(default=0)
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at", "pk"]

    def __str__(self) -> str:
        return self.display_name
