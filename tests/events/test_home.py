"""The Events page, until events are built: signed-in only, and plain about what is coming."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from tests.ui.markup import find_all, is_inside, links_named

pytestmark = pytest.mark.django_db

URL = "/events/"


def test_signed_out_people_are_sent_to_sign_in_and_back(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/signin/?next=/events/"


def test_the_page_says_what_events_will_offer_and_leads_back_to_people(client: Client) -> None:
    client.force_login(User.objects.create(username="adele", display_name="Adele Vance"))
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    (heading,) = find_all(html, "h1")
    assert heading.text == "Events are coming soon"
    coming = [item.text for item in find_all(html, "li") if is_inside(item, "section")]
    for feature in ("Webinars and town halls", "Registration", "Live registrations"):
        assert any(text.startswith(feature) for text in coming), feature
    current = [
        link.text
        for link in find_all(html, "a", aria_current="page")
        if is_inside(link, "nav", aria_label="Main")
    ]
    assert current == ["Events"]
    (back,) = links_named(html, "see who is available on the People page")
    assert back.attrs["href"] == "/people/"


def test_the_page_answers_only_reading(client: Client) -> None:
    client.force_login(User.objects.create(username="adele", display_name="Adele Vance"))
    assert client.post(URL).status_code == 405
