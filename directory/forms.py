"""Forms of the directory: the people search's query, and a field of chosen people."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from directory.models import MAX_SEARCH_LENGTH, Person

DEFAULT_LIMIT = 10
MAX_LIMIT = 25
# Most people a form field of chosen people takes (a town hall's presenters, a meeting's
# attendees); more is a mistake or an abuse.
MAX_CHOSEN = 250

_ID_SHAPE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_LIMIT_ERROR = f"limit must be a whole number from 1 to {MAX_LIMIT}."


class PeopleSearchForm(forms.Form):
    """What the people picker asks: the text typed and how many people to return."""

    q = forms.CharField(
        required=False,
        max_length=MAX_SEARCH_LENGTH,
        strip=True,
        error_messages={
            "max_length": "q must be at most %(limit_value)d characters (it has %(show_value)d)."
        },
    )
    limit = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_LIMIT,
        error_messages={
            "invalid": _LIMIT_ERROR,
            "min_value": _LIMIT_ERROR,
            "max_value": _LIMIT_ERROR,
        },
    )

    def text(self) -> str:
        """Return the search text of a valid form."""
        return str(self.cleaned_data.get("q") or "")

    def limit_or_default(self) -> int:
        """Return the number of people a valid form asks for."""
        limit = self.cleaned_data.get("limit")
        return DEFAULT_LIMIT if limit is None else int(limit)

    def error_text(self) -> str:
        """Return every error of an invalid form as one sentence per field."""
        return " ".join(str(message) for errors in self.errors.values() for message in errors)


class PeopleField(forms.CharField):
    """Comma-separated Entra object ids (the people picker's hidden field) -> visible people."""

    def __init__(self, *, max_people: int = MAX_CHOSEN, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.HiddenInput)
        super().__init__(strip=True, **kwargs)
        self.max_people = max_people

    def to_python(self, value: Any) -> list[Person]:  # type: ignore[override]
        text = super().to_python(value) or ""
        ids = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
        if len(ids) > self.max_people:
            raise forms.ValidationError(f"Choose at most {self.max_people} people.")
        bad = next((value for value in ids if not _ID_SHAPE.match(value)), None)
        if bad is not None:
            raise forms.ValidationError(f"{bad[:80]!r} is not a person id.")
        found = Person.objects.visible().filter(graph_id__in=ids).in_bulk(field_name="graph_id")
        missing = [graph_id for graph_id in ids if graph_id not in found]
        if missing:
            raise forms.ValidationError(
                f"{missing[0]!r} is not a person in the directory (any more); choose again."
            )
        return [found[graph_id] for graph_id in ids]

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ",".join(p.graph_id if isinstance(p, Person) else str(p) for p in value)
        return value
