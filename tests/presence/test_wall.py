"""The people wall: cards from the directory and the presence store, filters, favourites."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from presence import store
from presence.models import Favourite
from tests.presence.wall_cast import Directory, directory_fixture, presence  # noqa: F401  (fixture)
from tests.ui.markup import Element, elements

pytestmark = pytest.mark.django_db


def cards(html: str) -> list[Element]:
    return [e for e in elements(html) if e.tag == "li" and "person-card" in e.classes]


def card_names(html: str) -> list[str]:
    return [str(card.attrs["data-display-name"]) for card in cards(html)]


def card_of(html: str, name: str) -> list[Element]:
    """Return the elements inside the card of ``name``."""
    everything = elements(html)
    inside: list[Element] = []
    for element in everything:
        parent = element.parent
        while parent is not None:
            if parent.attrs.get("data-display-name") == name and "person-card" in parent.classes:
                inside.append(element)
                break
            parent = parent.parent
    return inside


def field(html: str, name: str, field_name: str) -> Element:
    return next(e for e in card_of(html, name) if e.attrs.get("data-field") == field_name)


def signed_in(client: Client, cast: Directory) -> Client:
    client.force_login(cast.viewer)
    return client


def test_wall_asks_a_signed_out_visitor_to_sign_in(client: Client) -> None:
    response = client.get("/people/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/signin/?next=/people/"


def test_wall_shows_each_person_with_their_presence(client: Client, directory: Directory) -> None:
    store.apply_updates(
        [
            presence(directory.alan, "Busy", "InACall", work_location="remote"),
            presence(
                directory.hedy,
                "Away",
                "Away",
                status_message="Back after lunch",
                out_of_office=True,
                out_of_office_message="On leave until Monday",
            ),
            presence(directory.grace, "DoNotDisturb", "Presenting"),
        ]
    )
    html = signed_in(client, directory).get("/people/").content.decode()

    assert card_names(html) == [
        "Ada Lovelace",
        "Alan Turing",
        "Grace Hopper",
        "Hedy Lamarr",
        "Katherine Johnson",
        "Margaret Hamilton",
    ]
    alan_badge = field(html, "Alan Turing", "availability")
    assert {"presence-badge", "presence-busy"} <= alan_badge.classes
    assert alan_badge.text == "Busy"
    assert field(html, "Alan Turing", "activity").text == "In a call"
    assert field(html, "Alan Turing", "work-location").text == "Working remotely"
    # When, on the reader's clock (UTC here, the default), and how long ago.
    assert re.fullmatch(r"since \d\d:\d\d \(just now\)", field(html, "Alan Turing", "since").text)

    grace_badge = field(html, "Grace Hopper", "availability")
    assert "presence-donotdisturb" in grace_badge.classes
    assert grace_badge.text == "Do not disturb"
    assert field(html, "Grace Hopper", "activity").text == "Presenting"

    assert field(html, "Hedy Lamarr", "status-message").text == "Status message: Back after lunch"
    assert field(html, "Hedy Lamarr", "out-of-office").text == (
        "Out of office: On leave until Monday"
    )

    # Nobody has read Ada's presence yet: she shows as unknown, not as offline.
    ada_badge = field(html, "Ada Lovelace", "availability")
    assert "presence-presenceunknown" in ada_badge.classes
    assert ada_badge.text == "Status unknown"
    assert "hidden" in field(html, "Ada Lovelace", "activity").attrs


def test_wall_card_carries_photo_job_and_department(client: Client, directory: Directory) -> None:
    html = signed_in(client, directory).get("/people/").content.decode()
    inside = card_of(html, "Katherine Johnson")
    photo = next(e for e in inside if e.tag == "img")
    assert photo.attrs["src"] == f"/directory/people/{directory.katherine.graph_id}/photo"
    assert photo.attrs["alt"] == ""
    assert any(e.text == "KJ" for e in inside)
    assert any(e.text == "Analyst · Flight" for e in inside)


def test_search_by_name_keeps_only_matching_people(client: Client, directory: Directory) -> None:
    html = signed_in(client, directory).get("/people/?q=hopper").content.decode()
    assert card_names(html) == ["Grace Hopper"]


def test_department_filter(client: Client, directory: Directory) -> None:
    html = signed_in(client, directory).get("/people/?department=Research").content.decode()
    assert card_names(html) == ["Alan Turing", "Hedy Lamarr"]
    options = [e.text for e in elements(html) if e.tag == "option"]
    assert {"Platform", "Flight", "Research"} <= set(options)


def test_available_now_shows_only_available_people(client: Client, directory: Directory) -> None:
    store.apply_updates(
        [
            presence(directory.alan, "Available", "Available"),
            presence(directory.hedy, "Busy", "InACall"),
            presence(directory.ada, "Available", "Available"),
        ]
    )
    html = signed_in(client, directory).get("/people/?available=on").content.decode()
    assert card_names(html) == ["Ada Lovelace", "Alan Turing"]


def test_available_first_order(client: Client, directory: Directory) -> None:
    store.apply_updates(
        [
            presence(directory.margaret, "Available", "Available"),
            presence(directory.hedy, "Away", "Away"),
            presence(directory.alan, "Busy", "InACall"),
        ]
    )
    html = signed_in(client, directory).get("/people/?order=available").content.decode()
    assert card_names(html)[:3] == ["Margaret Hamilton", "Hedy Lamarr", "Alan Turing"]


def test_favourites_are_pinned_first_and_have_their_own_view(
    client: Client, directory: Directory
) -> None:
    signed_in(client, directory)
    response = client.post(
        f"/people/{directory.katherine.graph_id}/favourite",
        {"favourite": "1"},
        HTTP_ACCEPT="application/json",
    )
    assert response.json() == {"person_id": directory.katherine.graph_id, "favourite": True}
    assert Favourite.objects.filter(user=directory.viewer, person=directory.katherine).exists()

    html = client.get("/people/").content.decode()
    assert card_names(html)[0] == "Katherine Johnson"
    star = next(e for e in card_of(html, "Katherine Johnson") if "favourite-button" in e.classes)
    assert star.attrs["aria-pressed"] == "true"
    # The job title tells same-named colleagues' stars apart.
    assert star.attrs["aria-label"] == "Favourite Katherine Johnson, Analyst"

    assert card_names(client.get("/people/?view=favourites").content.decode()) == [
        "Katherine Johnson"
    ]

    # Without the script, the form posts and comes back to the wall.
    response = client.post(
        f"/people/{directory.katherine.graph_id}/favourite",
        {"favourite": "0", "next": "/people/?view=all"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/people/?view=all"
    assert not Favourite.objects.filter(user=directory.viewer).exists()


def test_a_favourite_needs_the_csrf_token(directory: Directory) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(directory.viewer)
    response = client.post(f"/people/{directory.ada.graph_id}/favourite", {"favourite": "1"})
    assert response.status_code == 403
    assert not Favourite.objects.exists()


def test_a_bad_favourite_flag_is_refused_and_changes_nothing(
    client: Client, directory: Directory
) -> None:
    signed_in(client, directory)
    response = client.post(
        f"/people/{directory.ada.graph_id}/favourite",
        {"favourite": "yes please"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {"error": "'favourite' must be 1 or 0."}
    assert (
        client.post(
            "/people/7e570000-0000-4000-8000-999999999999/favourite", {"favourite": "1"}
        ).status_code
        == 404
    )
    assert not Favourite.objects.exists()


def test_my_team_shows_my_manager_and_my_reports(client: Client, directory: Directory) -> None:
    html = signed_in(client, directory).get("/people/?view=team").content.decode()
    assert card_names(html) == ["Ada Lovelace", "Grace Hopper", "Katherine Johnson"]


def test_my_team_is_empty_for_someone_not_in_the_directory(
    client: Client, directory: Directory
) -> None:
    directory.viewer.object_id = "not-in-the-directory"
    directory.viewer.save()
    html = signed_in(client, directory).get("/people/?view=team").content.decode()
    assert card_names(html) == []
    assert "Your team is not in the directory yet." in html


def test_hidden_and_removed_people_are_not_on_the_wall(
    client: Client, directory: Directory
) -> None:
    directory.hedy.is_hidden = True
    directory.hedy.save()
    directory.alan.account_enabled = False
    directory.alan.save()
    html = signed_in(client, directory).get("/people/").content.decode()
    assert "Hedy Lamarr" not in card_names(html)
    assert "Alan Turing" not in card_names(html)


def test_filters_that_make_no_sense_are_named_and_the_rest_is_kept(
    client: Client, directory: Directory
) -> None:
    response = signed_in(client, directory).get("/people/?q=lovelace&view=everyone-ever&page=0")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Some filters were not understood" in html
    assert "Show: Select a valid choice." in html
    assert card_names(html) == ["Ada Lovelace"]
    search = next(e for e in elements(html) if e.attrs.get("id") == "wall-q")
    assert search.attrs["value"] == "lovelace"
