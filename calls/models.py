"""The reception line, its menu, and the calls the bot takes part in: metadata only.

No audio of a call, recording or tone is ever stored: a call keeps who, when, what state and
how it was routed. Prompts are the line's own recordings (greeting, menu), uploaded by an admin,
and a call-out's message spoken from the admin's text, kept only while the call-out runs.
"""

from __future__ import annotations

from django.db import models

from directory.models import Person

STATE_RANK = {
    "incoming": 0,
    "establishing": 1,
    "ringing": 2,
    "redirecting": 3,
    "established": 4,
    "hold": 4,
    "transferring": 5,
    "transferAccepted": 6,
    "terminating": 8,
    "terminated": 9,
}


class ReceptionLine(models.Model):
    """The reception line: greeting, opening hours and where each key of the menu leads."""

    name = models.CharField(max_length=100, default="Reception")
    greeting = models.CharField(
        max_length=500,
        default="Welcome to Lumen Hall. Press 1 for sales, 2 for engineering, 3 for people.",
    )
    closed_message = models.CharField(
        max_length=500, default="We are closed. Please call again during opening hours."
    )
    opens_at = models.TimeField(default="08:00")
    closes_at = models.TimeField(default="18:00")
    # Weekdays open, Monday = 0.
    open_days = models.CharField(max_length=7, default="01234")
    time_zone = models.CharField(max_length=64, default="Europe/London")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class Prompt(models.Model):
    """An uploaded recording the platform plays (a validated WAV file)."""

    line = models.ForeignKey(ReceptionLine, on_delete=models.CASCADE, related_name="prompts")
    slot = models.CharField(max_length=20)  # greeting, closed
    content = models.BinaryField()
    uploaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["line", "slot"], name="one_prompt_a_slot")]

    def __str__(self) -> str:
        return self.slot


class Team(models.Model):
    """A team saved under a name: the reception menu and call-outs reach it.

    Mostly a hand-picked list of people; a saved team may also stand for a department of the
    directory or one person (``kind``, as a menu key's), so admins can rename and repoint it
    without touching the keys that lead to it.
    """

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, default="list", db_default="list")
    department = models.CharField(max_length=256, blank=True, default="", db_default="")
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    members = models.ManyToManyField(Person, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MenuOption(models.Model):
    """One key of the menu and the team it leads to."""

    class Kind(models.TextChoices):
        DEPARTMENT = "department", "A department"
        LIST = "list", "A team (a hand-picked list)"
        PERSON = "person", "One person"

    line = models.ForeignKey(ReceptionLine, on_delete=models.CASCADE, related_name="options")
    digit = models.CharField(max_length=1)
    label = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.DEPARTMENT)
    department = models.CharField(max_length=256, blank=True)
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A list key's saved team; its members are copied into ``members`` whenever the key or the
    # team is saved, so routing reads one table as before.
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="options"
    )
    members = models.ManyToManyField(Person, blank=True, related_name="+")

    class Meta:
        ordering = ["digit"]
        constraints = [models.UniqueConstraint(fields=["line", "digit"], name="one_option_a_key")]

    def __str__(self) -> str:
        return f"{self.digit}: {self.label}"


class CallQuerySet(models.QuerySet["Call"]):
    def live(self) -> CallQuerySet:
        return self.exclude(state="terminated")


class Call(models.Model):
    """A call of the bot, as its callbacks describe it."""

    class Purpose(models.TextChoices):
        RECEPTION = "reception", "Reception"
        CALL_BACK = "callback", "Call-back"
        OUTGOING = "outgoing", "Outgoing"
        INCIDENT = "incident", "Incident call-out"
        BRIDGE = "bridge", "Incident meeting"

    graph_id = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.RECEPTION)
    direction = models.CharField(max_length=20, default="incoming")
    state = models.CharField(max_length=30, default="incoming")
    caller_label = models.CharField(max_length=256, blank=True)
    caller_phone = models.CharField(max_length=32, blank=True)
    caller_person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    option = models.ForeignKey(MenuOption, null=True, blank=True, on_delete=models.SET_NULL)
    routed_to = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    routing = models.CharField(max_length=256, blank=True)
    # The media operation the routing waits for (clientContext), and what it is for.
    waiting_for = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    result_code = models.CharField(max_length=16, blank=True)
    result_subcode = models.CharField(max_length=16, blank=True)
    result_message = models.CharField(max_length=256, blank=True)
    incident_target = models.ForeignKey(
        "IncidentTarget", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    incident = models.ForeignKey(
        "Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = CallQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return self.graph_id


class CallParticipant(models.Model):
    """Someone in a call, as the last roster said."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="participants")
    graph_id = models.CharField(max_length=64)
    label = models.CharField(max_length=256, blank=True)
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_bot = models.BooleanField(default=False)
    is_muted = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["call", "graph_id"], name="one_participant_an_id")
        ]

    def __str__(self) -> str:
        return self.label


class CallEvent(models.Model):
    """One step of a call, for its page: state changes and routing decisions (no media)."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    text = models.CharField(max_length=300)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return self.text


class CallbackOffer(models.Model):
    """A caller who asked to be called back when someone of a team is free."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"
        CALLING = "calling", "Calling"
        DONE = "done", "Done"

    option = models.ForeignKey(MenuOption, null=True, on_delete=models.SET_NULL)
    caller_phone = models.CharField(max_length=32)
    state = models.CharField(max_length=20, choices=State.choices, default=State.WAITING)
    created_at = models.DateTimeField(auto_now_add=True)
    call_graph_id = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"{self.caller_phone} ({self.state})"


class CallDelegate(models.Model):
    """Whom a person lets take their calls, as Graph's call delegation (beta) last said."""

    delegator = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    delegate = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    receives_calls = models.BooleanField(default=False)
    makes_calls = models.BooleanField(default=False)
    read_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delegator", "delegate"], name="one_delegation_a_pair")
        ]

    def __str__(self) -> str:
        return f"{self.delegator_id} -> {self.delegate_id}"


class DelegationRead(models.Model):
    """When a person's call delegation was last read from Graph, with their own token."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="+")
    # The last read that worked (shown on the person's page), and the last try of the
    # periodic refresh, which orders who is read next.
    read_at = models.DateTimeField(null=True, blank=True)
    tried_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"{self.person_id} read at {self.read_at}"


class Incident(models.Model):
    """A call-out: the bot creates the incident meeting, joins it, and calls the team."""

    title = models.CharField(max_length=200)
    message = models.CharField(max_length=500)
    join_url = models.URLField(max_length=2000)
    # The onlineMeeting the bot created, organised by the admin who started the call-out;
    # blank when the admin gave the link of a meeting that already existed.
    # Database defaults let the previous release's code add call-outs during an upgrade.
    meeting_id = models.CharField(max_length=512, blank=True, default="", db_default="")
    organizer_id = models.CharField(max_length=64, blank=True, default="", db_default="")
    call_offline = models.BooleanField(default=False, db_default=False)
    # The team called, in words ("the Engineering department", "the team On-call").
    team_label = models.CharField(max_length=300, blank=True, default="", db_default="")
    bridge_call_id = models.CharField(max_length=64, blank=True)
    created_by = models.CharField(max_length=256, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    max_attempts = models.PositiveSmallIntegerField(default=2)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Whether the people called hear the message itself (spoken by the server's synthesizer),
    # kept after the recording is deleted; else why not, for the call-out's page.
    message_spoken = models.BooleanField(default=False, db_default=False)
    speech_error = models.CharField(max_length=300, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class SpokenMessage(models.Model):
    """A call-out's message spoken as a WAV prompt, kept only while the call-out runs.

    The platform fetches it by an address naming its unguessable token. It is a prompt the
    admin wrote, not call media; it is deleted when the call-out is over or after a retention.
    """

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="spoken")
    token = models.CharField(max_length=64, unique=True)
    content = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"message of {self.incident_id}"


class IncidentTarget(models.Model):
    """One person called out for an incident, and how far they got."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"
        CALLING = "calling", "Calling"
        LISTENING = "listening", "Hearing the message"
        JOINED = "joined", "Joined the meeting"
        DECLINED = "declined", "Declined"
        RETRY = "retry", "No answer: will try again"
        UNREACHED = "unreached", "Not reached"
        OFFLINE = "offline", "Offline: not called"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="targets")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=20, choices=State.choices, default=State.WAITING)
    # Presence when the call-out began: Available people are called first.
    availability = models.CharField(max_length=30, blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.state}"
