"""Forms of the calls pages: the reception line, its menu, prompts, and the call controls."""

from __future__ import annotations

import io
import re
import wave
from typing import Any

from django import forms

from calls.models import MenuOption, ReceptionLine, Team
from comms_portal.graph.calls import meeting_from_join_url
from directory.forms import PeopleField
from directory.selectors import departments

MAX_PROMPT_BYTES = 2 * 1024 * 1024
PROMPT_SLOTS = [
    ("greeting", "Greeting"),
    ("menu", "Menu: which key leads where"),
    ("closed", "Closed"),
    ("offer", "Nobody free: call-back offer"),
    ("callback", "Call back promised"),
    ("goodbye", "Goodbye"),
    ("incident", "Incident call-out, where its message cannot be spoken: 1 joins, 2 declines"),
]
# Most people one call-out calls: the platform holds 100 calls of an app at once.
MAX_CALLED = 50
_ID_SHAPE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# Service-hosted media plays WAV: PCM, 16 bits, mono, 16 kHz (the calling platform's format).
WAV_RATE, WAV_WIDTH, WAV_CHANNELS = 16_000, 2, 1


class LineForm(forms.ModelForm):  # type: ignore[type-arg]
    """Greeting, closed message and opening hours."""

    open_days = forms.MultipleChoiceField(
        choices=[
            (str(i), day) for i, day in enumerate(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
        ],
        widget=forms.CheckboxSelectMultiple,
        label="Open on",
    )

    class Meta:
        model = ReceptionLine
        fields = ["greeting", "closed_message", "opens_at", "closes_at", "open_days", "time_zone"]
        widgets = {
            "opens_at": forms.TimeInput(attrs={"type": "time"}),
            "closes_at": forms.TimeInput(attrs={"type": "time"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["open_days"] = list(self.instance.open_days)

    def clean_open_days(self) -> str:
        return "".join(sorted(self.cleaned_data["open_days"]))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        opens, closes = data.get("opens_at"), data.get("closes_at")
        if opens and closes and opens > closes:
            self.add_error(
                "closes_at", "The line must close after it opens (the same time: all day)."
            )
        return data


def _offer_departments(form: forms.Form) -> None:
    field = form.fields["department"]
    assert isinstance(field, forms.ChoiceField)
    field.choices = [("", "Choose a department")] + [(d, d) for d in departments()]


def _check_kind(form: forms.Form, data: dict[str, Any]) -> None:
    """Flag a department team without its department and a person team without one person."""
    kind, people = data.get("kind"), data.get("people") or []
    if kind == MenuOption.Kind.DEPARTMENT and not data.get("department"):
        form.add_error("department", "Choose a department.")
    if kind == MenuOption.Kind.PERSON and len(people) != 1:
        form.add_error("people", "Choose exactly one person.")


class TeamForm(forms.Form):
    """Which team: a department of the directory, a saved team (or people picked), a person.

    The reception menu's keys and the incident call-out choose their team with these fields.
    """

    kind = forms.ChoiceField(choices=MenuOption.Kind.choices, label="Leads to")
    department = forms.ChoiceField(required=False, label="Department")
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(),
        required=False,
        label="Saved team",
        empty_label="None: pick people below",
    )
    people = PeopleField(required=False, label="People (a list, or the one person)")
    team_name = forms.CharField(
        max_length=100,
        required=False,
        label="Save the people picked as a team named",
        help_text="A team of that name gets these people instead of its own.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _offer_departments(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _check_kind(self, data)
        kind, people = data.get("kind"), data.get("people") or []
        if kind == MenuOption.Kind.LIST:
            if people and data.get("team"):
                self.add_error("team", "Choose a saved team or pick people, not both.")
            elif not people and not data.get("team"):
                self.add_error("people", "Choose a saved team, or pick at least one person.")
        return data

    def team_fields(self) -> dict[str, Any]:
        """Return what names the team, for ``team_choices.choose_team``."""
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "department": data.get("department") or "",
            "team": data.get("team"),
            "people": list(data.get("people") or []),
            "team_name": data.get("team_name") or "",
        }


class OptionForm(TeamForm):
    """One key of the menu and the team it leads to."""

    digit = forms.ChoiceField(choices=[(str(d), str(d)) for d in range(10)], label="Key")
    label = forms.CharField(max_length=100)

    def team_fields(self) -> dict[str, Any]:
        # People picked for a key are always saved as a team, named after the key by default.
        fields = super().team_fields()
        fields["team_name"] = fields["team_name"] or self.cleaned_data["label"]
        return fields


class SavedTeamForm(forms.Form):
    """A saved team's name and what it stands for: a hand-picked list, a department, a person."""

    name = forms.CharField(max_length=100, label="Name")
    kind = forms.ChoiceField(
        choices=MenuOption.Kind.choices,
        label="The team is",
        widget=forms.RadioSelect,
    )
    department = forms.ChoiceField(required=False, label="Department")
    people = PeopleField(required=False, label="People (the list, or the one person)")

    def __init__(self, *args: Any, team: Team | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team
        _offer_departments(self)

    def clean_name(self) -> str:
        name = " ".join(str(self.cleaned_data["name"]).split())
        taken = Team.objects.filter(name__iexact=name)
        if self.team is not None:
            taken = taken.exclude(pk=self.team.pk)
        if taken.exists():
            raise forms.ValidationError(f"Another team is named {name} already.")
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _check_kind(self, data)
        kind, people = data.get("kind"), data.get("people") or []
        if kind == MenuOption.Kind.LIST and not people:
            self.add_error("people", "Pick at least one person.")
        return data


def validate_wav(content: bytes) -> None:
    """Refuse anything but a short PCM WAV file of 16 bits, mono, 16 kHz."""
    if len(content) > MAX_PROMPT_BYTES:
        raise forms.ValidationError("The file is larger than 2 MB.")
    if content[:4] != b"RIFF" or content[8:12] != b"WAVE":
        raise forms.ValidationError("The file is not a WAV file.")
    try:
        with wave.open(io.BytesIO(content)) as audio:
            rate, width, channels = (
                audio.getframerate(),
                audio.getsampwidth(),
                audio.getnchannels(),
            )
            frames = audio.getnframes()
    except (wave.Error, EOFError) as error:
        raise forms.ValidationError(f"The WAV file cannot be read: {error}.") from None
    if (rate, width, channels) != (WAV_RATE, WAV_WIDTH, WAV_CHANNELS):
        raise forms.ValidationError(
            "The recording must be PCM, 16-bit, mono, 16 kHz "
            f"(this one is {rate} Hz, {width * 8}-bit, {channels} channel(s))."
        )
    if frames == 0:
        raise forms.ValidationError("The recording is empty.")


class PromptForm(forms.Form):
    """An uploaded recording for one slot."""

    slot = forms.ChoiceField(choices=PROMPT_SLOTS, label="Prompt")
    recording = forms.FileField(label="WAV file (PCM, 16-bit, mono, 16 kHz)")

    def clean_recording(self) -> bytes:
        upload = self.cleaned_data["recording"]
        content = upload.read(MAX_PROMPT_BYTES + 1)
        validate_wav(content)
        return bytes(content)


class InviteForm(forms.Form):
    """People to invite into a call."""

    people = PeopleField(max_people=10, label="People to invite")

    def clean_people(self) -> list[Any]:
        people = self.cleaned_data["people"]
        if not people:
            raise forms.ValidationError("Choose at least one person.")
        return list(people)


class IdsField(forms.Field):
    """Object ids sent as repeated values (checkboxes of people)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[str]:
        values = value if isinstance(value, list | tuple) else []
        return [str(v) for v in values if isinstance(v, str) and _ID_SHAPE.match(v)][:250]


class IncidentForm(TeamForm):
    """A call-out: what happened, which team to call (give or take people), and how."""

    title = forms.CharField(max_length=200)
    message = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "aria-describedby": "id_message_helptext"}),
        help_text="Read out to each person called, after the title, in a synthetic voice; "
        "then they press 1 to join the meeting or 2 to decline. Keep it short. Where the "
        "server cannot speak it, they hear a recorded notice instead, and the call-out's page "
        "says so.",
    )
    also_call = PeopleField(max_people=MAX_CALLED, required=False, label="Also call")
    leave_out = IdsField(required=False)
    call_offline = forms.BooleanField(
        required=False,
        label="Also call people who are Offline",
        widget=forms.CheckboxInput(attrs={"aria-describedby": "id_call_offline_helptext"}),
        help_text="Offline people are skipped unless this is ticked; they are called after "
        "everyone else but those in Do not disturb.",
    )
    join_url = forms.URLField(
        assume_scheme="https",
        max_length=2000,
        required=False,
        label="Existing Teams meeting link (optional)",
        help_text="Left empty, the bot creates a new Teams meeting, with you as its organizer.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].label = "Team to call"
        self.fields["people"].label = "People (the team picked by hand, or the one person)"

    def clean_join_url(self) -> str:
        url = str(self.cleaned_data.get("join_url") or "")
        if not url:
            return ""
        try:
            meeting_from_join_url(url)
        except ValueError as error:
            raise forms.ValidationError(f"That is not a Teams meeting link: {error}.") from None
        return url
