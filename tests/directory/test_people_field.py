"""The form field behind a multi-select picker: chosen ids in, visible people out."""

from __future__ import annotations

import pytest
from django import forms

from directory.forms import PeopleField
from directory.models import Person

pytestmark = pytest.mark.django_db


class MeetingForm(forms.Form):
    attendees = PeopleField(max_people=3)
    presenters = PeopleField(required=False)


@pytest.fixture
def people() -> dict[str, Person]:
    def make(graph_id: str, name: str) -> Person:
        return Person.objects.create(
            graph_id=graph_id, display_name=name, user_principal_name=f"{graph_id}@form.example"
        )

    cast = {
        "ada": make("ada-1", "Ada Lovelace"),
        "grace": make("grace-2", "Grace Hopper"),
        "hedy": make("hedy-3", "Hedy Lamarr"),
        "alan": make("alan-4", "Alan Turing"),
    }
    cast["hedy"].is_hidden = True
    cast["hedy"].save()
    return cast


def errors(data: dict[str, str]) -> dict[str, list[str]]:
    form = MeetingForm(data)
    assert not form.is_valid()
    return {name: list(messages) for name, messages in form.errors.items()}


def test_chosen_ids_become_people_in_the_order_chosen(people: dict[str, Person]) -> None:
    form = MeetingForm({"attendees": "grace-2, ada-1,grace-2", "presenters": ""})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["attendees"] == [people["grace"], people["ada"]]
    assert form.cleaned_data["presenters"] == []


def test_people_colleagues_may_not_see_or_unknown_ids_are_refused(
    people: dict[str, Person],
) -> None:
    assert errors({"attendees": "ada-1,hedy-3"}) == {
        "attendees": ["'hedy-3' is not a person in the directory (any more); choose again."]
    }
    assert errors({"attendees": "nobody-9"})["attendees"][0].startswith("'nobody-9' is not")


def test_malformed_ids_too_many_people_and_none_are_refused(people: dict[str, Person]) -> None:
    assert errors({"attendees": "ada-1,<script>"}) == {
        "attendees": ["'<script>' is not a person id."]
    }
    assert errors({"attendees": "ada-1,grace-2,alan-4,x-5"}) == {
        "attendees": ["Choose at most 3 people."]
    }
    assert errors({"attendees": " , "}) == {"attendees": ["This field is required."]}


def test_a_bound_list_of_people_renders_as_their_ids(people: dict[str, Person]) -> None:
    form = MeetingForm(initial={"attendees": [people["ada"], people["alan"]]})
    assert 'value="ada-1,alan-4"' in str(form["attendees"])
