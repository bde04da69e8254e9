"""Forms of the meetings pages: plan a meeting, look one up, Meet now with a person."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from comms_portal import times
from directory.forms import PeopleField
from directory.models import Person
from meetings.services import MeetingPlan

LOBBY_CHOICES = [
    ("organization", "People in my organization"),
    ("everyone", "Everyone"),
    ("invited", "People I invited"),
    ("organizer", "Only me"),
]
PRESENTER_CHOICES = [
    ("everyone", "Everyone"),
    ("organization", "People in my organization"),
    ("roleIsPresenter", "Specific people (invited as presenters)"),
    ("organizer", "Only me"),
]
# A meeting planned longer than this is most likely a typo.
LONGEST = timedelta(hours=24)
MAX_LOOKUP = 2000


class MeetingForm(forms.Form):
    """A meeting's subject, day and times in a chosen zone, invitees and options."""

    subject = forms.CharField(max_length=255, strip=True)
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    end_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    time_zone = forms.CharField(max_length=times.MAX_ZONE_NAME)
    invitees = PeopleField(required=False)
    passcode_required = forms.BooleanField(required=False)
    lobby_scope = forms.ChoiceField(choices=LOBBY_CHOICES, initial="organization")
    allowed_presenters = forms.ChoiceField(choices=PRESENTER_CHOICES, initial="everyone")

    def __init__(
        self, *args: Any, now: datetime | None = None, editing: bool = False, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()
        self.editing = editing
        if editing:
            # Graph never changes the passcode setting of an existing meeting.
            del self.fields["passcode_required"]

    def clean_time_zone(self) -> str:
        name = str(self.cleaned_data["time_zone"]).strip()
        try:
            times.zone_named(name)
        except times.UnknownTimeZone as error:
            raise forms.ValidationError(str(error)) from None
        return name

    @staticmethod
    def _local(day: date, clock: time, zone_name: str) -> datetime:
        zone = times.zone_named(zone_name)
        moment = datetime.combine(day, clock, tzinfo=zone)
        # A clock time skipped by a daylight-saving change does not survive a round trip.
        back = moment.astimezone(UTC).astimezone(zone)
        if back.replace(tzinfo=None) != moment.replace(tzinfo=None):
            raise forms.ValidationError(
                f"{clock:%H:%M} does not exist on {day:%d %b %Y} in that time zone (the clocks "
                "change); choose another time."
            )
        return moment

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        day, start, end, zone = (
            data.get("day"),
            data.get("start_time"),
            data.get("end_time"),
            data.get("time_zone"),
        )
        if day is None or start is None or end is None or not zone:
            return data
        try:
            starts = self._local(day, start, zone)
            ends = self._local(day, end, zone)
        except forms.ValidationError as error:
            self.add_error("start_time", error)
            return data
        if ends <= starts:
            self.add_error("end_time", "The meeting must end after it starts (on the same day).")
        elif ends - starts > LONGEST:
            self.add_error("end_time", "A meeting lasts at most 24 hours.")
        if not self.editing and starts < self.now - timedelta(minutes=5):
            self.add_error("start_time", "That time has passed; choose a time from now on.")
        data["starts"] = starts
        data["ends"] = ends
        return data

    def plan(self) -> MeetingPlan:
        """Return what a valid form asks for."""
        data = self.cleaned_data
        invitees: list[Person] = data.get("invitees") or []
        return MeetingPlan(
            subject=data["subject"],
            start=data["starts"],
            end=data["ends"],
            time_zone=data["time_zone"],
            invitees=invitees,
            passcode_required=bool(data.get("passcode_required")),
            lobby_scope=data["lobby_scope"],
            allowed_presenters=data["allowed_presenters"],
        )


class LookupForm(forms.Form):
    """A Teams join link or a meeting ID to find."""

    q = forms.CharField(max_length=MAX_LOOKUP, strip=True, label="Join link or meeting ID")


class MeetNowForm(forms.Form):
    """The person to meet now, by their directory id."""

    person = forms.CharField(max_length=64)

    def clean_person(self) -> Person:
        graph_id = str(self.cleaned_data["person"]).strip()
        person = Person.objects.visible().filter(graph_id=graph_id).first()
        if person is None:
            raise forms.ValidationError("That person is not in the directory (any more).")
        return person
