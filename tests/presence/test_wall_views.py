"""The wall's search, its list view and display choices, the actions and the alerts inbox."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client
from django.utils import timezone

from directory.models import Person
from presence import store
from presence.models import AvailabilityAlert, Favourite, WallPreference
from presence.store import PresenceState
from tests.presence.test_wall import card_names, card_of, signed_in
from tests.presence.wall_cast import Directory, directory_fixture, presence  # noqa: F401  (fixture)
from tests.ui.markup import elements

pytestmark = pytest.mark.django_db


def count_text(html: str) -> str:
    return next(e.text for e in elements(html) if "data-wall-count" in e.attrs)


def row_names(html: str) -> list[str]:
    return [
        str(e.attrs["data-display-name"])
        for e in elements(html)
        if e.tag == "tr" and "person-row" in e.classes
    ]


@pytest.mark.parametrize(
    ("text", "names", "said"),
    [
        ("head of platform", ["Grace Hopper"], "1 person matches."),  # job title
        ("research", ["Alan Turing", "Hedy Lamarr"], "2 people match."),  # department
        ("ada.lovelace@wall", ["Ada Lovelace"], "1 person matches."),  # e-mail address
        ("Hoper", ["Grace Hopper"], "No exact match for “Hoper”; 1 person is a close match."),
    ],
)
def test_the_wall_searches_titles_departments_addresses_and_forgives_typos(
    client: Client, directory: Directory, text: str, names: list[str], said: str
) -> None:
    html = signed_in(client, directory).get("/people/", {"q": text}).content.decode()
    assert card_names(html) == names
    assert count_text(html) == said
    # The search as one types gets the same people and the same words, as a fragment.
    fragment = client.get("/people/cards", {"q": text}).content.decode()
    assert "<html" not in fragment
    assert card_names(fragment) == names
    results = next(e for e in elements(fragment) if "data-wall-results" in e.attrs)
    assert results.attrs["data-count-text"] == said


def test_no_match_says_so_in_the_live_count(client: Client, directory: Directory) -> None:
    html = signed_in(client, directory).get("/people/", {"q": "zzyzx"}).content.decode()
    assert card_names(html) == []
    assert count_text(html).startswith("No one matches “zzyzx”.")
    live = next(e for e in elements(html) if "data-wall-count" in e.attrs)
    assert live.attrs["role"] == "status"


def test_the_list_view_is_remembered_and_sorted_by_a_column(
    client: Client, directory: Directory
) -> None:
    store.apply_updates(
        [
            presence(directory.hedy, "Available", "Available"),
            presence(directory.alan, "Busy", "InACall"),
            presence(directory.ada, "Away", "Away"),
        ]
    )
    signed_in(client, directory)
    answer = client.post(
        "/people/display",
        {"layout": "list", "sort_column": "availability"},
        HTTP_ACCEPT="application/json",
    )
    assert answer.json() == {
        "layout": "list",
        "sort": "availability",
        "descending": False,
        "group": "none",
    }
    html = client.get("/people/").content.decode()
    assert row_names(html)[:3] == ["Hedy Lamarr", "Ada Lovelace", "Alan Turing"]
    header = next(e for e in elements(html) if e.tag == "th" and "aria-sort" in e.attrs)
    assert header.attrs["aria-sort"] == "ascending"
    button = next(
        e
        for e in elements(html)
        if e.parent is not None and e.parent.attrs == header.attrs and e.tag == "button"
    )
    assert button.attrs["data-sort-column"] == "availability"

    # The same column again reverses it; people without a presence stay last.
    client.post("/people/display", {"sort_column": "availability"})
    html = client.get("/people/").content.decode()
    assert row_names(html)[:3] == ["Alan Turing", "Ada Lovelace", "Hedy Lamarr"]
    assert WallPreference.objects.get(user=directory.viewer).descending


def test_recently_changed_order_and_grouping_by_department(
    client: Client, directory: Directory
) -> None:
    now = time.time()

    def seen(person: Person, availability: str, seconds_ago: int) -> PresenceState:
        # The store stamps a change with the time it was observed.
        return PresenceState(
            person_id=person.graph_id,
            availability=availability,
            activity=availability,
            observed_at=now - seconds_ago,
            source="poll",
        )

    store.apply_updates(
        [
            seen(directory.katherine, "Busy", 60),
            seen(directory.alan, "Away", 3600),
            seen(directory.grace, "Available", 5),
        ]
    )
    signed_in(client, directory)
    client.post("/people/display", {"sort": "since"})
    html = client.get("/people/").content.decode()
    assert card_names(html)[:3] == ["Grace Hopper", "Katherine Johnson", "Alan Turing"]

    client.post("/people/display", {"group": "department", "sort": "name"})
    html = client.get("/people/").content.decode()
    headings = [
        e.text
        for e in elements(html)
        if e.tag == "h3" and "wall-group" in (e.parent.classes if e.parent else set())
    ]
    assert headings == ["Flight", "Platform", "Research"]
    assert card_names(html) == [
        "Katherine Johnson",
        "Ada Lovelace",
        "Grace Hopper",
        "Margaret Hamilton",
        "Alan Turing",
        "Hedy Lamarr",
    ]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"layout": "tiles"}, "Choose cards or list."),
        ({"sort_column": "salary"}, "That column cannot be sorted."),
        ({"group": "star sign"}, "Choose one of the groupings listed."),
    ],
)
def test_a_display_choice_that_makes_no_sense_is_refused_clearly(
    client: Client, directory: Directory, data: dict[str, str], error: str
) -> None:
    signed_in(client, directory)
    response = client.post("/people/display", data, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert not WallPreference.objects.exists()


def test_every_card_offers_teams_copy_the_bell_and_the_star(
    client: Client, directory: Directory
) -> None:
    html = signed_in(client, directory).get("/people/").content.decode()
    inside = card_of(html, "Ada Lovelace")
    links = {
        e.attrs["aria-label"]: e.attrs["href"]
        for e in inside
        if e.tag == "a" and "action" in e.classes
    }
    upn = "ada.lovelace@wall.example"
    assert links == {
        "Chat with Ada Lovelace, Engineer in Teams": f"https://teams.microsoft.com/l/chat/0/0?users={upn}",
        "Call Ada Lovelace, Engineer in Teams": f"https://teams.microsoft.com/l/call/0/0?users={upn}",
        "Video call Ada Lovelace, Engineer in Teams": (
            f"https://teams.microsoft.com/l/call/0/0?users={upn}&withVideo=true"
        ),
    }
    copy = next(e for e in inside if "data-copy-email" in e.attrs)
    assert copy.attrs["data-copy-email"] == upn
    bell = next(e for e in inside if "action-bell" in e.classes)
    assert bell.attrs["aria-label"] == "Tell me when Ada Lovelace, Engineer is available"
    assert bell.attrs["aria-pressed"] == "false"
    toolbar = next(e for e in inside if e.attrs.get("role") == "toolbar")
    assert toolbar.attrs["aria-label"] == "Actions for Ada Lovelace, Engineer"


def test_the_alerts_inbox_lists_the_last_alerts_and_whom_one_waits_for(
    client: Client, directory: Directory
) -> None:
    AvailabilityAlert.objects.create(
        user=directory.viewer, person=directory.alan, fired_at=timezone.now()
    )
    AvailabilityAlert.objects.create(user=directory.viewer, person=directory.hedy)
    signed_in(client, directory)
    panel = client.get("/people/alerts/recent").content.decode()
    assert "<html" not in panel
    links = [e for e in elements(panel) if e.tag == "a"]
    assert [(link.text, link.attrs["href"]) for link in links] == [
        ("Alan Turing", f"/people/{directory.alan.graph_id}/"),
        ("Hedy Lamarr", f"/people/{directory.hedy.graph_id}/"),
    ]
    assert "became available" in panel
    assert "Waiting for" in panel
    page = client.get("/people/alerts/").content.decode()
    assert "Alan Turing" in page and "<html" in page


def test_stopping_an_alert_says_so_without_a_double_negative(
    client: Client, directory: Directory
) -> None:
    signed_in(client, directory)
    url = f"/people/{directory.alan.graph_id}/alert"
    on = client.post(url, {"alert": "1"}, HTTP_ACCEPT="application/json").json()
    assert on["message"] == "You will be told when Alan Turing is available."
    off = client.post(url, {"alert": "0"}, HTTP_ACCEPT="application/json").json()
    assert off["message"] == "You stopped waiting for Alan Turing."


def followed_on(html: str) -> dict[str, dict[str, str]]:
    script = next(e for e in elements(html) if e.attrs.get("id") == "presence-followed")
    followed: dict[str, dict[str, str]] = json.loads(script.text)
    return followed


def test_reading_out_changes_is_off_until_asked_for_and_remembered(
    client: Client, directory: Directory
) -> None:
    signed_in(client, directory)
    Favourite.objects.create(user=directory.viewer, person=directory.ada)
    AvailabilityAlert.objects.create(user=directory.viewer, person=directory.alan)
    # A spent alert is no longer a reason to follow someone.
    AvailabilityAlert.objects.create(
        user=directory.viewer, person=directory.hedy, fired_at=timezone.now()
    )
    html = client.get("/people/").content.decode()
    box = next(e for e in elements(html) if "data-announce-toggle" in e.attrs)
    assert "checked" not in box.attrs
    assert followed_on(html) == {
        "favourites": {directory.ada.graph_id: "Ada Lovelace"},
        "waiting": {directory.alan.graph_id: "Alan Turing"},
    }

    answer = client.post("/people/announce", {"announce": "1"}, HTTP_ACCEPT="application/json")
    assert answer.json() == {"announce": True}
    assert WallPreference.objects.get(user=directory.viewer).announce_changes
    for page in ("/people/", f"/people/{directory.grace.graph_id}/"):
        html = client.get(page).content.decode()
        box = next(e for e in elements(html) if "data-announce-toggle" in e.attrs)
        assert "checked" in box.attrs, page

    # Without script: the checkbox form, sent unticked, turns it off and goes back.
    back = client.post("/people/announce", {"announce": "0", "next": "/people/?q=ada"})
    assert back.status_code == 302
    assert back["Location"] == "/people/?q=ada"
    assert not WallPreference.objects.get(user=directory.viewer).announce_changes


def test_a_reading_out_choice_that_is_neither_on_nor_off_is_refused(
    client: Client, directory: Directory
) -> None:
    signed_in(client, directory)
    response = client.post("/people/announce", {"announce": "yes"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": "'announce' must be 1 or 0."}
    assert not WallPreference.objects.exists()
