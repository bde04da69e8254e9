"""The dashboard's filters and the admin's subnet-to-building mapping."""

from __future__ import annotations

import ipaddress
from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone

from callrecords.models import BuildingSubnet
from callrecords.selectors import CALL_TYPES, MODALITIES, Filters

MAX_RANGE_DAYS = 400
DEFAULT_DAYS = 30


class FiltersForm(forms.Form):
    """Date range (on the viewer's clock), modality, call type and grouping of time."""

    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    modality = forms.ChoiceField(
        label="Modality", required=False, choices=[("", "All"), *MODALITIES.items()]
    )
    call_type = forms.ChoiceField(
        label="Call type", required=False, choices=[("", "All"), *CALL_TYPES.items()]
    )
    bucket = forms.ChoiceField(
        label="Group by", required=False, choices=[("day", "Day"), ("week", "Week")]
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        today = timezone.localdate()
        until = cleaned.get("until") or today
        since = cleaned.get("since") or (until - timedelta(days=DEFAULT_DAYS - 1))
        if isinstance(since, date) and isinstance(until, date):
            if until < since:
                self.add_error("until", "The end date must not be before the start date.")
            elif (until - since).days >= MAX_RANGE_DAYS:
                self.add_error("since", f"Choose at most {MAX_RANGE_DAYS} days.")
        cleaned["since"], cleaned["until"] = since, until
        return cleaned

    def filters(self) -> Filters:
        """Return the filters chosen (call after is_valid)."""
        zone = timezone.get_current_timezone()
        since: date = self.cleaned_data["since"]
        until: date = self.cleaned_data["until"]
        return Filters(
            since=datetime.combine(since, time.min, tzinfo=zone),
            until=datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone),
            modality=self.cleaned_data.get("modality") or "",
            call_type=self.cleaned_data.get("call_type") or "",
            bucket=self.cleaned_data.get("bucket") or "day",
        )


def default_filters() -> Filters:
    """The last 30 days, everything."""
    form = FiltersForm({})
    form.is_valid()
    return form.filters()


class BuildingForm(forms.Form):
    """Map a subnet (such as 10.12.1.0 or 10.12.0.0/16) to a building."""

    subnet = forms.CharField(
        label="Subnet or range",
        max_length=64,
        help_text="As the call records report it (10.12.1.0), or a range (10.12.0.0/16).",
    )
    building = forms.CharField(label="Building", max_length=200)

    def clean_subnet(self) -> str:
        text = str(self.cleaned_data["subnet"]).strip()
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise forms.ValidationError(
                "Enter an IP subnet such as 10.12.1.0 or 10.12.0.0/16."
            ) from None
        if BuildingSubnet.objects.filter(subnet=text).exists():
            raise forms.ValidationError("This subnet is already mapped; remove it first.")
        return text if "/" not in text else str(network)

    def clean_building(self) -> str:
        name = str(self.cleaned_data["building"]).strip()
        if not name:
            raise forms.ValidationError("Enter the building's name.")
        return name
