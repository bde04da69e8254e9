"""Forms of the events pages: an event as the console plans it, and a registration's answers."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone

from comms_portal import times
from directory.forms import PeopleField
from events.models import MAX_DESCRIPTION, MAX_TITLE, Question, Registration, VirtualEvent
from events.services import EventDraft, Guest, QuestionDraft

QUESTION_SLOTS = 3
MAX_CHOICES = 25
MAX_GUESTS = 20
MAX_ANSWER = 1_000
_GUEST = re.compile(r"^\s*(?P<name>[^<>]{1,255}?)\s*<(?P<email>[^<>\s]{3,254})>\s*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CHOICE_TYPES = (Question.InputType.SINGLE, Question.InputType.MULTI)


class EventForm(forms.Form):
    """A webinar or town hall: what, when, who, and how people register."""

    kind = forms.ChoiceField(choices=VirtualEvent.Kind.choices, label="Kind of event")
    title = forms.CharField(max_length=MAX_TITLE, label="Title")
    description = forms.CharField(
        max_length=MAX_DESCRIPTION, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    starts_at = forms.DateTimeField(
        label="Starts", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label="Ends", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    time_zone = forms.CharField(max_length=64, label="Time zone of the start and end")
    audience = forms.ChoiceField(choices=VirtualEvent.Audience.choices, label="Who may attend")
    co_organizers = PeopleField(required=False, label="Co-organizers")
    presenters = PeopleField(required=False, label="Presenters from the organization")
    guests = forms.CharField(
        required=False,
        label="Guest presenters",
        help_text="One a line, as: Name <name@example.com>",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=MAX_GUESTS * 300,
    )
    invited = PeopleField(required=False, label="Invited (town halls)")
    is_invite_only = forms.BooleanField(required=False, label="Only invited people (town halls)")
    capacity = forms.IntegerField(
        required=False, min_value=1, max_value=10_000, label="Capacity (webinars)"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for slot in range(1, QUESTION_SLOTS + 1):
            self.fields[f"q{slot}_text"] = forms.CharField(
                required=False, max_length=255, label=f"Question {slot}"
            )
            self.fields[f"q{slot}_type"] = forms.ChoiceField(
                choices=Question.InputType.choices, required=False, label="Answered with"
            )
            self.fields[f"q{slot}_choices"] = forms.CharField(
                required=False,
                label="Choices, one a line",
                widget=forms.Textarea(attrs={"rows": 2}),
                max_length=MAX_CHOICES * 256,
            )
            self.fields[f"q{slot}_required"] = forms.BooleanField(required=False, label="Required")
            self.fields[f"q{slot}_order"] = forms.IntegerField(
                required=False, min_value=1, max_value=QUESTION_SLOTS, label="Order"
            )

    def question_rows(self) -> list[dict[str, Any]]:
        """Return the question fields by slot, for the template."""
        return [
            {
                "slot": slot,
                "text": self[f"q{slot}_text"],
                "type": self[f"q{slot}_type"],
                "choices": self[f"q{slot}_choices"],
                "required": self[f"q{slot}_required"],
                "order": self[f"q{slot}_order"],
            }
            for slot in range(1, QUESTION_SLOTS + 1)
        ]

    def clean_guests(self) -> list[Guest]:
        guests: list[Guest] = []
        for line in str(self.cleaned_data.get("guests") or "").splitlines():
            if not line.strip():
                continue
            match = _GUEST.match(line)
            if match is None or not _EMAIL.match(match.group("email")):
                raise forms.ValidationError(
                    f"{line.strip()[:80]!r} is not 'Name <address>'; write one guest a line."
                )
            guests.append(Guest(match.group("name"), match.group("email")))
        if len(guests) > MAX_GUESTS:
            raise forms.ValidationError(f"Add at most {MAX_GUESTS} guests.")
        return guests

    def clean_time_zone(self) -> str:
        name = str(self.cleaned_data.get("time_zone") or "")
        if not times.is_zone(name):
            raise forms.ValidationError(
                f"{name[:64]!r} is not a time zone; choose one from the list."
            )
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        zone = data.get("time_zone")
        if zone:
            # The browser sends wall-clock times; they are read in the chosen zone.
            current = timezone.get_current_timezone()
            for name in ("starts_at", "ends_at"):
                value = data.get(name)
                if isinstance(value, datetime):
                    wall = value.astimezone(current).replace(tzinfo=None)
                    data[name] = wall.replace(tzinfo=times.zone_named(zone))
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if isinstance(starts, datetime) and isinstance(ends, datetime) and ends <= starts:
            self.add_error("ends_at", "The end must be after the start.")
        kind = data.get("kind")
        if data.get("is_invite_only"):
            if kind != VirtualEvent.Kind.TOWNHALL:
                self.add_error("is_invite_only", "Only town halls are invite-only.")
            elif data.get("audience") != VirtualEvent.Audience.ORGANIZATION:
                self.add_error(
                    "is_invite_only", "An invite-only town hall is for the organization only."
                )
        if kind == VirtualEvent.Kind.TOWNHALL and data.get("capacity"):
            self.add_error("capacity", "Town halls have no capacity here; leave it empty.")
        data["questions"] = self._questions(data, kind)
        return data

    def _questions(self, data: dict[str, Any], kind: Any) -> list[QuestionDraft]:
        found: list[tuple[int, int, QuestionDraft]] = []
        for slot in range(1, QUESTION_SLOTS + 1):
            text = str(data.get(f"q{slot}_text") or "").strip()
            if not text:
                continue
            if kind != VirtualEvent.Kind.WEBINAR:
                self.add_error(f"q{slot}_text", "Only webinars ask registration questions.")
                continue
            input_type = data.get(f"q{slot}_type") or Question.InputType.TEXT
            choices = [
                c.strip() for c in str(data.get(f"q{slot}_choices") or "").splitlines() if c.strip()
            ]
            if input_type in CHOICE_TYPES:
                if not 2 <= len(choices) <= MAX_CHOICES or len(set(choices)) != len(choices):
                    self.add_error(
                        f"q{slot}_choices", f"Give 2 to {MAX_CHOICES} different choices."
                    )
                    continue
                if any(len(c) > 255 for c in choices):
                    self.add_error(f"q{slot}_choices", "A choice is at most 255 characters.")
                    continue
            elif choices:
                self.add_error(f"q{slot}_choices", "Only choice questions take choices.")
                continue
            order = data.get(f"q{slot}_order") or slot
            draft = QuestionDraft(
                text, str(input_type), choices, bool(data.get(f"q{slot}_required"))
            )
            found.append((int(order), slot, draft))
        return [draft for _, _, draft in sorted(found, key=lambda one: (one[0], one[1]))]

    def draft(self, time_zone: str) -> EventDraft:
        """Return the valid form as an EventDraft."""
        data = self.cleaned_data
        return EventDraft(
            kind=data["kind"],
            title=data["title"],
            description=data.get("description") or "",
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            time_zone=data.get("time_zone") or time_zone,
            audience=data["audience"],
            co_organizers=list(data.get("co_organizers") or []),
            presenters=list(data.get("presenters") or []),
            guests=list(data.get("guests") or []),
            invited=list(data.get("invited") or []),
            is_invite_only=bool(data.get("is_invite_only")),
            capacity=data.get("capacity"),
            questions=list(data.get("questions") or []),
        )


def initial_of(event: VirtualEvent) -> dict[str, Any]:
    """Return the form's initial values for an event, in the reader's zone."""
    zone = (
        times.zone_named(event.time_zone)
        if times.is_zone(event.time_zone)
        else (timezone.get_current_timezone())
    )
    questions: dict[str, Any] = {}
    for slot, question in enumerate(event.questions.all()[:QUESTION_SLOTS], start=1):
        questions.update(
            {
                f"q{slot}_text": question.text,
                f"q{slot}_type": question.input_type,
                f"q{slot}_choices": "\n".join(question.choices),
                f"q{slot}_required": question.is_required,
                f"q{slot}_order": slot,
            }
        )
    return {
        "kind": event.kind,
        "title": event.title,
        "description": event.description,
        "starts_at": event.starts_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": event.ends_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "time_zone": str(zone),
        "audience": event.audience,
        "co_organizers": ",".join(event.co_organizer_ids),
        "invited": ",".join(event.invited_ids),
        "is_invite_only": event.is_invite_only,
        "capacity": event.capacity,
        "presenters": ",".join(p.person_graph_id for p in event.presenters.all() if not p.is_guest),
        "guests": "\n".join(
            f"{p.display_name} <{p.email}>" for p in event.presenters.all() if p.is_guest
        ),
        **questions,
    }


class RegistrationForm(forms.Form):
    """The answers to a webinar's questions; required ones must be answered, choices offered."""

    def __init__(self, *args: Any, questions: list[Question], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        for question in questions:
            name = f"answer_{question.pk}"
            label = question.text
            required = question.is_required
            if question.input_type == Question.InputType.BOOLEAN:
                self.fields[name] = forms.ChoiceField(
                    choices=[("", "Choose"), ("yes", "Yes"), ("no", "No")],
                    required=required,
                    label=label,
                )
            elif question.input_type == Question.InputType.SINGLE:
                self.fields[name] = forms.ChoiceField(
                    choices=[(c, c) for c in question.choices],
                    required=required,
                    label=label,
                    widget=forms.RadioSelect,
                )
            elif question.input_type == Question.InputType.MULTI:
                self.fields[name] = forms.MultipleChoiceField(
                    choices=[(c, c) for c in question.choices],
                    required=required,
                    label=label,
                    widget=forms.CheckboxSelectMultiple,
                )
            else:
                widget = (
                    forms.Textarea(attrs={"rows": 3})
                    if question.input_type == Question.InputType.MULTILINE
                    else forms.TextInput
                )
                self.fields[name] = forms.CharField(
                    max_length=MAX_ANSWER, required=required, label=label, widget=widget
                )

    def answers(self) -> list[dict[str, Any]]:
        """Return the answers as Graph's registrationQuestionAnswers."""
        answers: list[dict[str, Any]] = []
        for question in self.questions:
            value = self.cleaned_data.get(f"answer_{question.pk}")
            if value in (None, "", []):
                continue
            answer: dict[str, Any] = {
                "questionId": question.graph_id,
                "value": None,
                "booleanValue": None,
                "multiChoiceValues": [],
            }
            if question.input_type == Question.InputType.BOOLEAN:
                answer["booleanValue"] = value == "yes"
            elif question.input_type == Question.InputType.SINGLE:
                answer["multiChoiceValues"] = [value]
            elif question.input_type == Question.InputType.MULTI:
                answer["multiChoiceValues"] = [str(one) for one in value or []]
            else:
                answer["value"] = value
            answers.append(answer)
        return answers


class TableQueryForm(forms.Form):
    """The registration table's search, status filter and page."""

    q = forms.CharField(required=False, max_length=100, strip=True, label="Search")
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any status"), *Registration.Status.choices],
        label="Status",
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)
