"""My meetings: signed-in only, the person's coming and past meetings, nobody else's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from meetings.models import Invitee, Meeting
from tests.ui.markup import find_all

pytestmark = pytest.mark.django_db

URL = "/meetings/"


def meeting(organizer: User | None, subject: str, hours: float, graph_id: str) -> Meeting:
    start = timezone.now() + timedelta(hours=hours)
    return Meeting.objects.create(
        graph_id=graph_id,
        organizer=organizer,
        organizer_graph_id="o-" + graph_id,
        subject=subject,
        start=start,
        end=start + timedelta(minutes=30),
        join_web_url=f"https://teams.microsoft.com/l/meetup-join/{graph_id}",
    )


def test_signed_out_people_are_sent_to_sign_in_and_back(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/signin/?next=/meetings/"


def test_my_meetings_lists_what_i_organise_or_am_invited_to_and_nothing_else(
    client: Client,
) -> None:
    adele = User.objects.create(username="adele", display_name="Adele Vance", object_id="a-1")
    other = User.objects.create(username="megan", display_name="Megan Bowen", object_id="m-1")
    meeting(adele, "Planning", 2, "m1")
    invited = meeting(other, "Review", 5, "m2")
    Invitee.objects.create(meeting=invited, graph_id="A-1", display_name="Adele Vance")
    meeting(other, "Not mine", 3, "m3")
    meeting(adele, "Yesterday", -24, "m4")
    cancelled = meeting(adele, "Cancelled", 4, "m5")
    cancelled.deleted_at = timezone.now()
    cancelled.save()
    client.force_login(adele)
    html = client.get(URL).content.decode()
    (heading,) = find_all(html, "h1")
    assert heading.text == "My meetings"
    links = [link.text for link in find_all(html, "a", class_="meeting-link")]
    assert links == ["Planning", "Review", "Yesterday"]
    assert "Not mine" not in html and "Cancelled" not in html


def test_an_empty_list_says_how_to_start(client: Client) -> None:
    client.force_login(User.objects.create(username="adele", display_name="Adele Vance"))
    html = client.get(URL).content.decode()
    assert "No meetings coming up." in html
    assert "No past meetings yet." in html


def test_the_page_answers_only_reading(client: Client) -> None:
    client.force_login(User.objects.create(username="adele", display_name="Adele Vance"))
    assert client.post(URL).status_code == 405
