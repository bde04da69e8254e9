"""Forms of the people pages: wall filters and the three parts of My status."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any

from django import forms
from django.utils import timezone

from presence import selectors, status

_ID_SHAPE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_SNAPSHOT_IDS = 1000


def _choices(table: dict[str, Any]) -> list[tuple[str, str]]:
    return [(key, value[0] if isinstance(value, tuple) else value) for key, value in table.items()]


class WallFilterForm(forms.Form):
    """What the wall shows: search text, department, availability, view and order."""

    q = forms.CharField(required=False, max_length=100, strip=True, label="Search people")
    department = forms.CharField(required=False, max_length=256, label="Department")
    available = forms.BooleanField(required=False, label="Available now")
    view = forms.ChoiceField(
        required=False,
        choices=[("all", "Everyone"), ("favourites", "Favourites"), ("team", "My team")],
        label="Show",
    )
    order = forms.ChoiceField(
        required=False,
        choices=[("name", "Name"), ("available", "Available first")],
        label="Order",
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000)

    def wall_query(self) -> selectors.WallQuery:
        """Return the query of a valid form."""
        data = self.cleaned_data
        return selectors.WallQuery(
            text=data.get("q") or "",
            department=data.get("department") or "",
            available_only=bool(data.get("available")),
            view=data.get("view") or "all",
            order=data.get("order") or "",
            page=data.get("page") or 1,
        )


class AvailabilityForm(forms.Form):
    """Set my availability for a while, or reset it."""

    availability = forms.ChoiceField(
        choices=_choices(status.AVAILABILITY_CHOICES),
        label="Availability",
        error_messages={"invalid_choice": "Choose one of the availabilities listed."},
    )
    duration = forms.ChoiceField(
        choices=_choices(status.DURATION_CHOICES),
        label="For",
        error_messages={"invalid_choice": "Choose one of the durations listed."},
    )


class LocalDateTimeField(forms.DateTimeField):
    """A date and time as read on the clock of ``zone`` (the person's), made timezone-aware."""

    zone: tzinfo = UTC

    def to_python(self, value: Any) -> datetime | None:
        # Django reads a typed time in the active zone; make it the person's, whatever is active.
        with timezone.override(self.zone):
            return super().to_python(value)


class StatusMessageForm(forms.Form):
    """Set my status message and when it clears; times are on the clock of ``zone``."""

    message = forms.CharField(
        max_length=status.STATUS_MESSAGE_MAX_LENGTH,
        strip=True,
        label="Status message",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Write a message, or use “Clear message” to remove yours.",
            "max_length": (
                "A status message can be at most %(limit_value)d characters "
                "(this one has %(show_value)d)."
            ),
        },
    )
    clear_after = forms.ChoiceField(
        choices=_choices(status.CLEAR_AFTER_CHOICES),
        label="Clear after",
        error_messages={"invalid_choice": "Choose when the message clears from the list."},
    )
    expires_at = LocalDateTimeField(
        required=False,
        label="Clear at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        error_messages={"invalid": "Enter a date and time such as 2026-05-04T17:30."},
    )

    def __init__(
        self, *args: Any, now: datetime | None = None, zone: tzinfo = UTC, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()
        self.zone = zone
        field = self.fields["expires_at"]
        assert isinstance(field, LocalDateTimeField)
        field.zone = zone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        choice = data.get("clear_after")
        when = data.get("expires_at")
        if choice == "custom":
            if when is None and "expires_at" not in self.errors:
                self.add_error("expires_at", "Choose the date and time the message clears.")
            elif when is not None and when <= self.now:
                self.add_error("expires_at", "That time has already passed; choose a later one.")
        return data

    def expiry(self) -> datetime | None:
        """Return when a valid form's message clears (None: never)."""
        choice = self.cleaned_data["clear_after"]
        if choice == "never":
            return None
        if choice == "custom":
            expires_at: datetime = self.cleaned_data["expires_at"]
            return expires_at
        return status.until(choice, self.now, self.zone)


class WorkLocationForm(forms.Form):
    """Say where I work today."""

    location = forms.ChoiceField(
        choices=_choices(status.WORK_LOCATION_CHOICES),
        label="Work location",
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Choose office, remote, or clear."},
    )


class PeopleIdsForm(forms.Form):
    """A comma-separated list of person ids (the presence snapshot's query)."""

    ids = forms.CharField(max_length=70_000)

    def clean_ids(self) -> list[str]:
        raw = [part.strip() for part in self.cleaned_data["ids"].split(",") if part.strip()]
        if len(raw) > MAX_SNAPSHOT_IDS:
            raise forms.ValidationError(f"Ask for at most {MAX_SNAPSHOT_IDS} people at once.")
        bad = [value for value in raw if not _ID_SHAPE.match(value)]
        if bad:
            raise forms.ValidationError(f"{bad[0][:80]!r} is not a person id.")
        return list(dict.fromkeys(raw))
