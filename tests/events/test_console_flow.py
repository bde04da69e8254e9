"""The events console and the employee pages against the real sandbox: plan, publish,
register, wait list, cancel; and what each refusal looks like."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from events import services
from events.models import Registration, VirtualEvent
from tests.support.cast import DANIEL, MEGAN, SAMUEL, TOMAS
from tests.support.portal_signin import sign_in_person
from tests.support.session_sandbox import control

pytestmark = pytest.mark.django_db

SCOPES = ["User.Read", "VirtualEvent.ReadWrite"]


@pytest.fixture(autouse=True)
def roomy_write_budget() -> Iterator[None]:
    """These tests write more than Graph's 15 per 30 s; the limit itself is the sandbox's test."""
    control(
        "POST",
        "/throttling",
        {
            "bucket": "virtual-events-write",
            "requests": 1000,
            "window_seconds": 30,
            "per_tenant": False,
        },
    )
    yield
    control("DELETE", "/throttling")


def signed_in(upn: str, scopes: list[str] | None = None) -> tuple[Client, User]:
    user = sign_in_person(upn, scopes=scopes or SCOPES)
    client = Client()
    client.force_login(user)
    return client, user


def local(moment: Any) -> str:
    return moment.astimezone(timezone.get_current_timezone()).strftime("%Y-%m-%dT%H:%M")


def event_form(**changes: Any) -> dict[str, Any]:
    start = timezone.now() + timedelta(days=2)
    data: dict[str, Any] = {
        "kind": "webinar",
        "title": "Platform roadmap",
        "description": "Where the platform goes next.",
        "starts_at": local(start),
        "ends_at": local(start + timedelta(hours=1)),
        "audience": "organization",
        "time_zone": "UTC",
        "guests": "Ada Guest <ada@guests.example>",
        "capacity": "1",
        "q1_text": "Which team are you in?",
        "q1_type": "singleChoice",
        "q1_choices": "Platform\nProduct",
        "q1_required": "on",
        "q1_order": "1",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def create(admin: Client, **changes: Any) -> VirtualEvent:
    response = admin.post("/events/console/new/", event_form(**changes))
    assert response.status_code == 302, response.content.decode()[:2000]
    return VirtualEvent.objects.latest("pk")


def test_an_admin_plans_publishes_and_cancels_while_employees_register() -> None:
    admin, _ = signed_in(MEGAN)
    event = create(admin)
    assert event.status == "draft" and event.graph_id.count("@") == 1
    assert [p.display_name for p in event.presenters.all()] == ["Ada Guest"]
    (question,) = event.questions.all()
    assert question.is_required and question.choices == ["Platform", "Product"]
    # Not visible to employees while a draft.
    tomas_client, tomas = signed_in(TOMAS)
    assert tomas_client.get(f"/events/{event.pk}/").status_code == 404
    preview = admin.get(f"/events/console/{event.pk}/preview/")
    assert "Which team are you in?" in preview.content.decode()
    assert admin.post(f"/events/console/{event.pk}/publish").status_code == 302
    event.refresh_from_db()
    assert event.status == "published"

    answer = f"answer_{question.pk}"
    missing = tomas_client.post(f"/events/{event.pk}/register", {})
    assert missing.status_code == 400 and "This field is required" in missing.content.decode()
    not_offered = tomas_client.post(f"/events/{event.pk}/register", {answer: "Sales"})
    assert (
        not_offered.status_code == 400
        and "not one of the available" in not_offered.content.decode()
    )
    done = tomas_client.post(f"/events/{event.pk}/register", {answer: "Platform"})
    assert done.status_code == 302
    mine = Registration.objects.get(event=event, user_graph_id=tomas.object_id)
    assert mine.status == "registered"
    assert mine.answers[0]["displayName"] == "Which team are you in?"
    again = tomas_client.post(f"/events/{event.pk}/register", {answer: "Platform"})
    assert (
        again.status_code == 400 and "registered for this webinar already" in again.content.decode()
    )

    samuel_client, samuel = signed_in(SAMUEL)
    waited = samuel_client.post(f"/events/{event.pk}/register", {answer: "Product"})
    assert waited.status_code == 302, waited.content.decode()[-3000:]
    page = samuel_client.get(f"/events/{event.pk}/").content.decode()
    assert "Wait-listed" in page
    table = admin.get(f"/events/console/{event.pk}/registrations").json()
    assert table["counts"]["registered"] == 1 and table["counts"]["waitlisted"] == 1
    assert {row["email"] for row in table["rows"]} == {tomas.email, samuel.email}

    # Tomas cancels; Samuel moves up.
    assert tomas_client.post(f"/events/{event.pk}/cancel-registration").status_code == 302
    statuses = dict(event.registrations.values_list("user_graph_id", "status"))
    assert statuses == {tomas.object_id: "canceled", samuel.object_id: "registered"}

    exported = admin.get(f"/events/console/{event.pk}/registrations.csv")
    assert exported.streaming
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode("utf-8-sig"))))
    assert rows[0][-1] == "Which team are you in?"
    assert sorted(row[2] for row in rows[1:]) == ["canceled", "registered"]

    ics = samuel_client.get(f"/events/{event.pk}/event.ics")
    assert ics["Content-Type"].startswith("text/calendar")
    assert b"SUMMARY:Platform roadmap" in ics.content

    # Canceling asks to confirm, then is final.
    assert admin.get(f"/events/console/{event.pk}/cancel/").status_code == 200
    admin.post(f"/events/console/{event.pk}/cancel/", {})
    event.refresh_from_db()
    assert event.status == "published"
    admin.post(f"/events/console/{event.pk}/cancel/", {"confirm": "yes"})
    event.refresh_from_db()
    assert event.status == "canceled"
    assert "This event is canceled" in samuel_client.get(f"/events/{event.pk}/").content.decode()
    refused = admin.post(f"/events/console/{event.pk}/publish", follow=True)
    assert "Teams refused to publish the event" in refused.content.decode()


def test_bad_forms_keep_what_was_typed_and_say_what_to_change() -> None:
    admin, _ = signed_in(MEGAN)
    start = timezone.now() + timedelta(days=1)
    cases = [
        (
            {"ends_at": local(start - timedelta(hours=1)), "starts_at": local(start)},
            "The end must be after the start.",
        ),
        ({"title": "x" * 256}, "at most 255 characters"),
        ({"q1_choices": "Only one"}, "Give 2 to 25 different choices."),
        ({"guests": "no address here"}, "write one guest a line"),
        ({"kind": "townhall", "capacity": "5", "q1_text": ""}, "Town halls have no capacity"),
        ({"is_invite_only": "on"}, "Only town halls are invite-only."),
        ({"time_zone": "Mars/Olympus"}, "is not a time zone"),
    ]
    before = VirtualEvent.objects.count()
    for changes, words in cases:
        response = admin.post("/events/console/new/", event_form(**changes))
        assert response.status_code == 400, changes
        html = response.content.decode()
        assert words in html, (changes, words)
        assert "Platform roadmap" in html or "x" * 256 in html
    assert VirtualEvent.objects.count() == before


def test_graphs_refusal_is_a_message_and_the_form_is_kept() -> None:
    admin, _ = signed_in(MEGAN)
    control(
        "POST",
        "/faults",
        {
            "path_regex": "/solutions/virtualEvents/webinars$",
            "kind": "429",
            "count": 10,
            "retry_after": 0,
        },
    )
    try:
        response = admin.post("/events/console/new/", event_form(title="Throttled webinar"))
    finally:
        control("DELETE", "/faults")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Teams is busy" in html and "Throttled webinar" in html


def test_without_the_permission_the_form_asks_for_it_and_keeps_the_data() -> None:
    daniel = sign_in_person(DANIEL)
    control("POST", "/consents/withdraw", {"user_id": daniel.object_id})
    daniel = sign_in_person(DANIEL, scopes=["User.Read"])
    assert not daniel.has_scopes(["VirtualEvent.ReadWrite"])
    admin = Client()
    admin.force_login(daniel)
    form = admin.get("/events/console/new/").content.decode()
    assert "Grant the permission" in form
    response = admin.post("/events/console/new/", event_form(title="Needs consent"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Teams needs your permission" in html and "Needs consent" in html
    assert "/accounts/consent/?feature=events" in html


def test_editing_changes_the_event_at_graph_and_adds_new_questions() -> None:
    admin, _ = signed_in(MEGAN)
    event = create(admin)
    start = timezone.now() + timedelta(days=5)
    changes = {
        "title": "Platform roadmap, revised",
        "starts_at": local(start),
        "ends_at": local(start + timedelta(hours=2)),
        "q2_text": "Anything to ask beforehand?",
        "q2_type": "multilineText",
        "q2_order": "2",
    }
    edit = admin.get(f"/events/console/{event.pk}/edit/")
    assert edit.status_code == 200 and "Platform roadmap" in edit.content.decode()
    response = admin.post(f"/events/console/{event.pk}/edit/", event_form(**changes))
    assert response.status_code == 302, response.content.decode()[-2000:]
    event.refresh_from_db()
    assert event.title == "Platform roadmap, revised"
    assert event.ends_at - event.starts_at == timedelta(hours=2)
    assert [q.text for q in event.questions.all()] == [
        "Which team are you in?",
        "Anything to ask beforehand?",
    ]
    # One guest presenter still: the one already added is not added twice.
    assert event.presenters.count() == 1
    state = control("GET", "/virtual-events/state").json()
    (at_graph,) = [e for e in state["events"] if e["id"] == event.graph_id]
    assert at_graph["displayName"] == "Platform roadmap, revised"
    kind_changed = admin.post(f"/events/console/{event.pk}/edit/", event_form(kind="townhall"))
    assert kind_changed.status_code == 400
    assert "The kind of an event cannot change." in kind_changed.content.decode()
    admin.post(f"/events/console/{event.pk}/cancel/", {"confirm": "yes"})
    after = admin.get(f"/events/console/{event.pk}/edit/", follow=True)
    assert "A canceled event cannot change." in after.content.decode()


def test_a_town_hall_for_invited_people_only() -> None:
    admin, _ = signed_in(MEGAN)
    tomas_client, tomas = signed_in(TOMAS)
    from directory.models import Person

    Person.objects.get_or_create(
        graph_id=tomas.object_id,
        defaults={"user_principal_name": tomas.email, "display_name": "Tomas Lindqvist"},
    )
    event = create(
        admin,
        kind="townhall",
        capacity="",
        q1_text="",
        is_invite_only="on",
        invited=tomas.object_id,
        guests="",
    )
    assert event.kind == "townhall" and event.is_invite_only
    assert event.invited_ids == [tomas.object_id]
    admin.post(f"/events/console/{event.pk}/publish")
    samuel_client, _ = signed_in(SAMUEL)
    assert samuel_client.get(f"/events/{event.pk}/").status_code == 404
    page = tomas_client.get(f"/events/{event.pk}/")
    assert page.status_code == 200
    # Town halls take no registration here.
    assert tomas_client.post(f"/events/{event.pk}/register", {}).status_code == 400


def test_an_organizer_cancels_someones_registration_and_a_wrong_answer_is_marked() -> None:
    admin, _ = signed_in(MEGAN)
    event = create(admin, capacity="")
    admin.post(f"/events/console/{event.pk}/publish")
    tomas_client, tomas = signed_in(TOMAS)
    (question,) = event.questions.all()
    wrong = tomas_client.post(f"/events/{event.pk}/register", {f"answer_{question.pk}": "Nope"})
    html = wrong.content.decode()
    # The error is linked to the choices, which are marked wrong, inside a named group.
    assert 'aria-invalid="true"' in html and f"id_answer_{question.pk}_error" in html
    assert "<legend>Which team are you in?" in html
    tomas_client.post(f"/events/{event.pk}/register", {f"answer_{question.pk}": "Product"})
    registration = Registration.objects.get(event=event, user_graph_id=tomas.object_id)
    done = admin.post(
        f"/events/console/{event.pk}/registrations/{registration.pk}/cancel", follow=True
    )
    assert "is canceled" in done.content.decode()
    registration.refresh_from_db()
    assert registration.status == "canceled"
    page = tomas_client.get(f"/events/{event.pk}/").content.decode()
    assert "Your earlier registration is canceled" in page


def test_a_drafts_questions_and_presenters_change_freely_a_published_ones_only_grow() -> None:
    admin, _ = signed_in(MEGAN)
    event = create(
        admin,
        q2_text="Coming in person?",
        q2_type="boolean",
        q2_order="2",
        guests="Ada Guest <ada@guests.example>\nBo Guest <bo@guests.example>",
    )
    form = admin.get(f"/events/console/{event.pk}/edit/").content.decode()
    assert "Coming in person?" in form and "bo@guests.example" in form
    # Swap the two questions, drop one guest.
    swapped = event_form(
        q1_order="2",
        q2_text="Coming in person?",
        q2_type="boolean",
        q2_order="1",
        guests="Bo Guest <bo@guests.example>",
    )
    assert admin.post(f"/events/console/{event.pk}/edit/", swapped).status_code == 302
    assert [q.text for q in event.questions.all()] == [
        "Coming in person?",
        "Which team are you in?",
    ]
    assert [p.email for p in event.presenters.all()] == ["bo@guests.example"]
    megan = User.objects.get(email__iexact=MEGAN)
    at_graph = services.client_as(megan).get_object(
        f"solutions/virtualEvents/webinars/{event.graph_id}/presenters"
    )
    assert [p["email"] for p in at_graph["value"]] == ["bo@guests.example"]

    admin.post(f"/events/console/{event.pk}/publish")
    grown = {**swapped, "q3_text": "Anything else?", "q3_type": "text", "q3_order": "3"}
    assert admin.post(f"/events/console/{event.pk}/edit/", grown).status_code == 302
    assert [q.text for q in event.questions.all()][-1] == "Anything else?"
    reordered = {**grown, "q1_order": "1", "q2_order": "2"}
    kept = admin.post(f"/events/console/{event.pk}/edit/", reordered, follow=True)
    assert "stay as they were" in kept.content.decode()
    assert [q.text for q in event.questions.all()] == [
        "Coming in person?",
        "Which team are you in?",
        "Anything else?",
    ]


def test_start_and_end_are_read_in_the_chosen_time_zone() -> None:
    admin, _ = signed_in(MEGAN)
    event = create(
        admin,
        time_zone="Asia/Tokyo",
        starts_at="2031-03-10T09:00",
        ends_at="2031-03-10T10:30",
        q1_text="",
    )
    # 09:00 in Tokyo is 00:00 UTC.
    assert event.starts_at.isoformat() == "2031-03-10T00:00:00+00:00"
    assert event.time_zone == "Asia/Tokyo"
    form = admin.get(f"/events/console/{event.pk}/edit/").content.decode()
    assert 'value="2031-03-10T09:00"' in form
    assert '<option value="Asia/Tokyo" selected>' in form
