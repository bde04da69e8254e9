"""Forms of the calls pages: the reception line, its menu, prompts, and the call controls."""

from __future__ import annotations

import io
import wave
from typing import Any

from django import forms

from calls.models import MenuOption, ReceptionLine
from comms_portal.graph.calls import meeting_from_join_url
from directory.forms import PeopleField

MAX_PROMPT_BYTES = 2 * 1024 * 1024
PROMPT_SLOTS = [
    ("greeting", "Greeting and menu"),
    ("closed", "Closed"),
    ("offer", "Nobody free: call-back offer"),
    ("callback", "Call back promised"),
    ("goodbye", "Goodbye"),
    ("incident", "Incident call-out: press 1 to join, 2 to decline"),
]
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


class OptionForm(forms.Form):
    """One key of the menu and where it leads."""

    digit = forms.ChoiceField(choices=[(str(d), str(d)) for d in range(10)], label="Key")
    label = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=MenuOption.Kind.choices, label="Leads to")
    department = forms.CharField(max_length=256, required=False)
    people = PeopleField(required=False, label="People (a list, or the one person)")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, people = data.get("kind"), data.get("people") or []
        if kind == MenuOption.Kind.DEPARTMENT and not data.get("department"):
            self.add_error("department", "Name the department.")
        if kind == MenuOption.Kind.PERSON and len(people) != 1:
            self.add_error("people", "Choose exactly one person.")
        if kind == MenuOption.Kind.LIST and not people:
            self.add_error("people", "Choose at least one person.")
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


class IncidentForm(forms.Form):
    """A call-out: what happened, whom to call, and (rarely) an existing meeting to gather in."""

    title = forms.CharField(max_length=200)
    message = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    people = PeopleField(max_people=50, label="People to call")
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

    def clean_join_url(self) -> str:
        url = str(self.cleaned_data.get("join_url") or "")
        if not url:
            return ""
        try:
            meeting_from_join_url(url)
        except ValueError as error:
            raise forms.ValidationError(f"That is not a Teams meeting link: {error}.") from None
        return url

    def clean_people(self) -> list[Any]:
        people = self.cleaned_data["people"]
        if not people:
            raise forms.ValidationError("Choose at least one person to call.")
        return list(people)
