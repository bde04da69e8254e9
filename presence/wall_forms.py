"""The wall's display controls: cards or list, sort order (and column sort buttons), grouping."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms

from presence.models import WallPreference
from presence.preferences import natural_descending


@dataclass(frozen=True)
class Display:
    """A complete choice of how to show the wall."""

    layout: str
    sort: str
    descending: bool
    group: str


class WallDisplayForm(forms.Form):
    """Change how the wall is shown; what is left out stays as it was."""

    layout = forms.ChoiceField(
        required=False,
        choices=WallPreference.LAYOUTS,
        label="View",
        error_messages={"invalid_choice": "Choose cards or list."},
    )
    sort = forms.ChoiceField(
        required=False,
        choices=WallPreference.SORTS,
        label="Sort by",
        error_messages={"invalid_choice": "Choose one of the orders listed."},
    )
    # A column's sort button: the same column again reverses the order.
    sort_column = forms.ChoiceField(
        required=False,
        choices=WallPreference.SORTS,
        error_messages={"invalid_choice": "That column cannot be sorted."},
    )
    group = forms.ChoiceField(
        required=False,
        choices=WallPreference.GROUPS,
        label="Group by",
        error_messages={"invalid_choice": "Choose one of the groupings listed."},
    )

    def display(self, current: WallPreference) -> Display:
        """Return the display a valid form asks for, starting from ``current``."""
        data = self.cleaned_data
        sort, descending = current.sort, current.descending
        if data.get("sort_column"):
            column = data["sort_column"]
            descending = not descending if column == sort else natural_descending(column)
            sort = column
        elif data.get("sort") and data["sort"] != sort:
            sort = data["sort"]
            descending = natural_descending(sort)
        return Display(
            layout=data.get("layout") or current.layout,
            sort=sort,
            descending=descending,
            group=data.get("group") or current.group,
        )

    def error_text(self) -> str:
        """Return every error of an invalid form as one sentence per field."""
        return " ".join(str(message) for errors in self.errors.values() for message in errors)
