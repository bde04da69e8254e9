"""Events a person runs in Teams reach the console: imported from the seeded tenant by role,
once each, kept up to date, and refusals said in words."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from comms_portal.graph import virtual_events as api
from comms_portal.redis_client import get_redis
from events import services, teams_import
from events.forms import initial_of
from events.models import Registration, VirtualEvent
from tests.events.consents import forget_consents
from tests.events.test_console_flow import roomy_write_budget
from tests.support.cast import DANIEL, MEGAN
from tests.support.portal_signin import sign_in_person
from tests.support.session_sandbox import control

pytestmark = pytest.mark.django_db
__all__ = ["roomy_write_budget"]

SCOPES = ["User.Read", "VirtualEvent.ReadWrite"]
ROADMAP = "Lumenhall product roadmap 2027"
TOWN_HALL = "All hands: winter update"
DRAFT = "Security awareness for everyone"
PAST = "Customer onboarding, the new way"
CANCELED = "Partner summit preview"
PRIYAS = "Engineering brown bag: observability"


@pytest.fixture(autouse=True)
def no_import_claims() -> None:
    """Each test starts with nobody's import claimed or reported."""
    redis = get_redis()
    for key in redis.scan_iter("portal:events:teams-import:*"):
        redis.delete(key)


def utc_text(moment: timezone.datetime) -> dict[str, str]:
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def test_importing_twice_gives_one_copy_of_each_event_with_all_its_parts() -> None:
    megan = sign_in_person(MEGAN, scopes=SCOPES)
    first = teams_import.import_from_teams(user=megan)
    assert ROADMAP in first.added_titles
    held = VirtualEvent.objects.count()
    again = teams_import.import_from_teams(user=megan)
    assert again.added == 0 and again.found == first.found
    assert VirtualEvent.objects.count() == held

    roadmap = VirtualEvent.objects.get(title=ROADMAP)
    assert (roadmap.kind, roadmap.status, roadmap.capacity) == ("webinar", "published", 150)
    assert roadmap.organizer == megan and roadmap.time_zone == "Europe/London"
    assert roadmap.registrations.filter(status=Registration.Status.REGISTERED).count() == 36
    assert [s.subject for s in roadmap.sessions.all()] == [
        "Keynote: the roadmap",
        "Questions and answers",
    ]
    presenters = {p.display_name: p.is_guest for p in roadmap.presenters.all()}
    assert presenters == {"Priya Natarajan": False, "Nora Whitcombe": True}
    (question,) = roadmap.questions.all()
    assert (question.text, question.input_type, question.is_required) == (
        "Which topic interests you most?",
        "singleChoice",
        True,
    )
    answer = roadmap.registrations.first()
    assert answer is not None and answer.answers[0]["displayName"] == question.text
    statuses = {
        title: VirtualEvent.objects.get(title=title).status
        for title in (TOWN_HALL, DRAFT, PAST, CANCELED)
    }
    assert statuses == {
        TOWN_HALL: "published",
        DRAFT: "draft",
        PAST: "published",
        CANCELED: "canceled",
    }
    assert VirtualEvent.objects.get(title=TOWN_HALL).kind == "townhall"


def test_an_imported_webinar_behaves_as_one_planned_here() -> None:
    megan = sign_in_person(MEGAN, scopes=SCOPES)
    teams_import.import_from_teams(user=megan)
    past = VirtualEvent.objects.get(title=PAST)
    # Attendance is read on request, as for the portal's own webinars.
    assert services.read_attendance(past) >= 1
    admin = Client()
    admin.force_login(megan)
    page = admin.get(f"/events/console/{past.pk}/attendance/")
    assert page.status_code == 200 and "Megan Reyes" in page.content.decode()
    roadmap = VirtualEvent.objects.get(title=ROADMAP)
    exported = b"".join(admin.get(f"/events/console/{roadmap.pk}/registrations.csv"))
    lines = exported.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 37 and lines[0].endswith("Which topic interests you most?")


def test_events_the_person_neither_organizes_nor_co_organizes_are_not_imported() -> None:
    daniel = sign_in_person(DANIEL, scopes=SCOPES)
    report = teams_import.import_from_teams(user=daniel)
    titles = set(VirtualEvent.objects.values_list("title", flat=True))
    # Daniel co-organizes the webinar, the town hall and the past webinar; Megan alone runs
    # the draft and the canceled one, and Priya her brown bag.
    assert {ROADMAP, TOWN_HALL, PAST} <= titles
    assert not {DRAFT, CANCELED, PRIYAS} & titles
    assert report.added == 3
    roadmap = VirtualEvent.objects.get(title=ROADMAP)
    assert services.can_manage(daniel, roadmap)


def test_an_event_changed_in_teams_is_updated_on_the_next_import() -> None:
    megan = sign_in_person(MEGAN, scopes=SCOPES)
    client = services.client_as(megan)
    start = timezone.now() + timedelta(days=9)
    made = api.create_event(
        client,
        "webinars",
        {
            "displayName": "Made in Teams",
            "startDateTime": utc_text(start),
            "endDateTime": utc_text(start + timedelta(hours=1)),
            "audience": "organization",
        },
    )
    teams_import.import_from_teams(user=megan)
    event = VirtualEvent.objects.get(graph_id=made["id"])
    assert (event.title, event.status, event.presenters.count()) == ("Made in Teams", "draft", 0)

    api.update_event(client, "webinars", made["id"], {"displayName": "Renamed in Teams"})
    api.add_presenter(
        client,
        "webinars",
        made["id"],
        {
            "@odata.type": "#microsoft.graph.communicationsGuestIdentity",
            "displayName": "Ola Guest",
            "email": "ola@guests.example",
        },
    )
    api.publish_event(client, "webinars", made["id"])
    report = teams_import.import_from_teams(user=megan)
    assert report.updated >= 1 and report.added == 0
    event.refresh_from_db()
    assert (event.title, event.status) == ("Renamed in Teams", "published")
    assert [p.display_name for p in event.presenters.all()] == ["Ola Guest"]
    assert VirtualEvent.objects.filter(graph_id=made["id"]).count() == 1

    # Changed in the portal afterwards, as any event planned here.
    admin = Client()
    admin.force_login(megan)
    form = {
        name: ("on" if value is True else value)
        for name, value in initial_of(event).items()
        if value is not None and value is not False
    }
    form["title"] = "Renamed in the portal"
    response = admin.post(f"/events/console/{event.pk}/edit/", form)
    assert response.status_code == 302, response.content.decode()[-2000:]
    state = control("GET", "/virtual-events/state").json()
    (at_graph,) = [e for e in state["events"] if e["id"] == made["id"]]
    assert at_graph["displayName"] == "Renamed in the portal"
    assert [p.display_name for p in event.presenters.all()] == ["Ola Guest"]


def test_the_console_imports_in_the_background_and_shows_the_result() -> None:
    megan = sign_in_person(MEGAN, scopes=SCOPES)
    admin = Client()
    admin.force_login(megan)
    opened = admin.get("/events/console/").content.decode()
    assert "Looking in Teams for the webinars and town halls you organize" in opened
    assert ROADMAP not in opened
    # What the worker does with the task the page queued.
    teams_import.run_import(user_pk=megan.pk)
    status = admin.get("/events/console/teams-import").json()
    assert status["state"] == "done" and status["message"].startswith("Added from Teams")
    assert ROADMAP in status["sectionsHtml"]
    again = admin.get("/events/console/").content.decode()
    assert ROADMAP in again and "Every event you run in Teams is listed below" in again
    # Opened again within the interval, the console does not ask Teams again.
    assert teams_import.status_of(megan).state == "done"
    # "Look in Teams again" does.
    assert admin.post("/events/console/teams-import").status_code == 302
    assert teams_import.status_of(megan).state == "running"


def test_throttling_and_missing_consent_are_said_in_words() -> None:
    megan = sign_in_person(MEGAN, scopes=SCOPES)
    control(
        "POST",
        "/faults",
        {
            "path_regex": "/solutions/virtualEvents/webinars/getByUserRole",
            "kind": "429",
            "count": 10,
            "retry_after": 0,
        },
    )
    try:
        assert teams_import.claim_import(user=megan)
        status = teams_import.run_import(user_pk=megan.pk)
    finally:
        control("DELETE", "/faults")
    assert status.state == "failed" and "Teams is busy" in status.message
    admin = Client()
    admin.force_login(megan)
    page = admin.get("/events/console/").content.decode()
    assert 'role="alert"' in page and "Teams is busy" in page
    assert not VirtualEvent.objects.filter(title=ROADMAP).exists()

    forget_consents((DANIEL,))
    without = sign_in_person(DANIEL, scopes=["User.Read"])
    assert not without.has_scopes(services.EVENT_SCOPES)
    admin.force_login(without)
    page = admin.get("/events/console/").content.decode()
    assert "Grant the permission to read your events" in page
    assert "needs your permission to read your events" in page
    assert teams_import.status_of(without).state == "needs_consent"
