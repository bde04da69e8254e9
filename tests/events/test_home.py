"""The Events page: signed-in only; published events one may attend, never drafts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from events.models import VirtualEvent
from tests.ui.markup import find_all, is_inside

pytestmark = pytest.mark.django_db

URL = "/events/"


def make_event(title: str, status: str, **fields: object) -> VirtualEvent:
    start = timezone.now() + timedelta(days=1)
    values: dict[str, object] = {
        "graph_id": f"{title}@tenant",
        "kind": "webinar",
        "status": status,
        "title": title,
        "starts_at": start,
        "ends_at": start + timedelta(hours=1),
        "audience": "organization",
        "organizer_graph_id": "b0000000-0000-4000-8000-000000000001",
    }
    values.update(fields)
    return VirtualEvent.objects.create(**values)


def test_signed_out_people_are_sent_to_sign_in_and_back(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/signin/?next=/events/"


def test_the_page_lists_published_events_one_may_attend(client: Client) -> None:
    adele = User.objects.create(username="adele", display_name="Adele", object_id="a-1")
    client.force_login(adele)
    make_event("Open webinar", "published")
    make_event("Draft webinar", "draft")
    make_event("Secret town hall", "published", kind="townhall", is_invite_only=True)
    make_event(
        "Invited town hall", "published", kind="townhall", is_invite_only=True, invited_ids=["a-1"]
    )
    make_event(
        "Old webinar",
        "published",
        starts_at=timezone.now() - timedelta(days=2),
        ends_at=timezone.now() - timedelta(days=1),
    )
    html = client.get(URL).content.decode()
    titles = [
        link.text
        for link in find_all(html, "a")
        if is_inside(link, "ul", aria_label="Events you can attend")
    ]
    assert titles == ["Open webinar", "Invited town hall"]
    current = [
        link.text
        for link in find_all(html, "a", aria_current="page")
        if is_inside(link, "nav", aria_label="Main")
    ]
    assert current == ["Events"]


def test_the_page_answers_only_reading(client: Client) -> None:
    client.force_login(User.objects.create(username="adele", display_name="Adele Vance"))
    assert client.post(URL).status_code == 405
