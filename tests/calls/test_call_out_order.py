"""Whom a call-out calls first: Available first, Do not disturb last, and within each presence
whoever has been in it longest, as the reception line gives a call to the member free longest."""

from __future__ import annotations

import pytest
from django.urls import reverse

from calls import incidents, services
from directory.models import Person
from tests.calls.support import set_presence, user_id
from tests.calls.test_incident import admin_client
from tests.calls.test_reception_flow import AIKO, GRACE, LENA, SAMUEL, person
from tests.calls.test_routing_store import stored
from tests.presence.engine_fixtures import clean_presence  # noqa: F401  (fixture)
from tests.support.cast import MARCUS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]

NOW = 1_800_000_000.0


def called_order(people: list[Person], presence: dict[str, tuple[str, float]]) -> list[str]:
    planned = incidents.plan(people, presence, call_offline=False)
    return [p.person.display_name for p in planned if p.called]


def test_the_available_free_longest_is_called_first_not_the_first_by_name() -> None:
    people = [person(AIKO), person(GRACE), person(LENA), person(SAMUEL)]
    presence = {
        user_id(AIKO): ("Available", NOW - 60),
        user_id(GRACE): ("Available", NOW - 3600),
        user_id(LENA): ("DoNotDisturb", NOW - 7200),
        user_id(SAMUEL): ("Available", NOW - 600),
    }

    # Grace free an hour, Samuel ten minutes, Aiko one: Lena in Do not disturb comes last.
    assert called_order(people, presence) == [
        "Grace Whitfield",
        "Samuel Ortega",
        "Aiko Tanaka",
        "Lena Brandt",
    ]


def test_within_every_presence_the_longest_in_it_comes_first_ties_by_name() -> None:
    people = [person(AIKO), person(GRACE), person(LENA), person(SAMUEL)]
    presence = {
        user_id(AIKO): ("Busy", NOW - 60),
        user_id(GRACE): ("DoNotDisturb", NOW - 60),
        user_id(LENA): ("Busy", NOW - 900),
        user_id(SAMUEL): ("DoNotDisturb", NOW - 60),
    }

    assert called_order(people, presence) == [
        "Lena Brandt",
        "Aiko Tanaka",
        "Grace Whitfield",
        "Samuel Ortega",
    ]


def test_offline_people_are_still_skipped_unless_asked() -> None:
    people = [person(AIKO), person(GRACE)]
    presence = {user_id(AIKO): ("Offline", NOW - 9000), user_id(GRACE): ("Available", NOW)}

    assert called_order(people, presence) == ["Grace Whitfield"]
    planned = incidents.plan(people, presence, call_offline=True)
    assert [p.person.display_name for p in planned] == ["Grace Whitfield", "Aiko Tanaka"]


def test_the_preview_orders_the_available_by_how_long_the_presence_store_has_them_free() -> None:
    # The presence engine saw Samuel become Available fifty minutes ago, Grace five.
    stored(GRACE, "Available", since_minutes=5)
    stored(SAMUEL, "Available", since_minutes=50)
    stored(MARCUS, "DoNotDisturb", since_minutes=90)
    set_presence(GRACE, "Available", "Available")
    set_presence(SAMUEL, "Available", "Available")
    set_presence(MARCUS, "DoNotDisturb", "Presenting")
    people = [person(GRACE), person(MARCUS), person(SAMUEL)]

    rows = services.preview_call_out(people=people, call_offline=False)

    assert [row.planned.person.graph_id for row in rows] == [
        user_id(SAMUEL),
        user_id(GRACE),
        user_id(MARCUS),
    ]
    page = (
        admin_client()
        .post(
            reverse("calls:incidents"),
            {
                "title": "Payments down",
                "message": "Payments fail.",
                "kind": "list",
                "people": ",".join(p.graph_id for p in people),
                "step": "preview",
            },
        )
        .content.decode()
    )
    shown = [page.index(f'data-planned="{user_id(upn)}"') for upn in (SAMUEL, GRACE, MARCUS)]
    assert shown == sorted(shown)
