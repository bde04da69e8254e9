"""The live roster: meeting call events from Graph, through the notification pipeline, to the
meeting's live topic; then the attendance report, its page and its CSV."""

# Fixtures are imported by name from engine_fixtures, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from comms_portal.live.topics import UnknownTopic, split_topic
from comms_portal.notifications import drain
from comms_portal.notifications import subscriptions as pipeline
from comms_portal.notifications.models import Subscription
from comms_portal.notifications.registry import Change
from comms_portal.redis_client import get_redis
from directory.models import Person
from directory.sync import sync_directory
from meetings import handlers, services, watching
from meetings.models import Meeting, RosterEntry
from meetings.topics import MEETING, meeting_topic
from tests.meetings.conftest import MEETING_SCOPES
from tests.meetings.page_roster import PageRoster
from tests.presence.engine_fixtures import (  # noqa: F401  (fixtures)
    Control,
    clean_presence,
    control,
    delivered_bodies,
    point_settings_at,
    sandbox,
    user_id_of,
    wait_for,
)
from tests.support.cast import GRACE, PRIYA, TOMAS
from tests.support.live import TopicInbox
from tests.support.portal_signin import sign_in_person
from tests.support.sandbox import RunningSandbox

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]


@pytest.fixture(autouse=True)
def portal(settings: SettingsWrapper, sandbox: RunningSandbox, live_server: LiveServer) -> None:
    """The portal on the private sandbox, reachable by it at the live server's address."""
    point_settings_at(settings, sandbox)
    settings.PUBLIC_BASE_URL = live_server.url
    sync_directory()
    redis = get_redis()
    for key in redis.scan_iter(match=f"{watching.PREFIX}*"):
        redis.delete(key)


def meeting_now(organizer: User, *invited: str) -> Meeting:
    now = timezone.now()
    return services.schedule_meeting(
        organizer=organizer,
        plan=services.MeetingPlan(
            subject="Stand-up",
            start=now,
            end=now + timedelta(minutes=30),
            time_zone="UTC",
            invitees=list(Person.objects.filter(user_principal_name__in=invited)),
        ),
    )


def notifications_in(bodies: list[str]) -> int:
    return sum(len(json.loads(body)["value"]) for body in bodies)


def process_new_bodies(seen: int, at_least: int = 1) -> int:
    """Wait for ``at_least`` notifications in bodies beyond the first ``seen`` (Graph may batch
    them in one body or not), process them, and return the new count of bodies."""
    bodies = wait_for(
        lambda: notifications_in(delivered_bodies()[seen:]) >= at_least and delivered_bodies(),
        what="meeting call events at the webhook",
    )
    for body in bodies[seen:]:
        drain.process_bodies([body])
    return len(bodies)


def roster_of(meeting: Meeting) -> list[tuple[str, bool]]:
    return sorted(
        RosterEntry.objects.filter(meeting=meeting, left_at__isnull=True).values_list(
            "display_name", "in_lobby"
        )
    )


def test_call_events_become_the_live_roster_and_the_report_follows(
    sandbox: RunningSandbox, control: Control
) -> None:
    priya = sign_in_person(PRIYA, scopes=MEETING_SCOPES)
    meeting = meeting_now(priya, TOMAS)
    report = handlers.watch_meetings()
    assert report["created"] == 1
    (subscription,) = Subscription.objects.of_kind(handlers.KIND)
    assert subscription.owner is None and subscription.scope == [meeting.pk]
    (remote,) = control("GET", "/subscriptions")["value"]
    assert remote["resource"].endswith("/meetingCallEvents")
    # A second pass keeps the one subscription Graph allows per meeting.
    assert handlers.watch_meetings()["created"] == 0
    # Kept alive on beta with the app's token, as its lifecycle events ask.
    assert pipeline.reauthorize(subscription) is not None
    renewed = pipeline.renew(subscription)
    assert renewed is not None and renewed.expires_at > timezone.now() + timedelta(days=2)

    inbox = TopicInbox(meeting_topic(meeting.pk))
    page = PageRoster()
    priya_id, tomas_id = user_id_of(sandbox.info, PRIYA), user_id_of(sandbox.info, TOMAS)
    base = f"/meetings/{meeting.graph_id}"
    control("POST", base + "/join", {"userId": priya_id})
    control("POST", base + "/join", {"userId": tomas_id, "lobby": True})
    # callStarted, then the two roster changes.
    seen = process_new_bodies(0, at_least=3)
    meeting.refresh_from_db()
    assert meeting.is_running
    assert roster_of(meeting) == [("Priya Natarajan", False), ("Tomas Lindqvist", True)]
    received = inbox.messages()
    for message in received:
        page.take(message)
    # What arrived, and the bodies in the order they were handled, name the cause of a failure.
    shown = (received, delivered_bodies())
    assert page.running and page.gaps == 0 and page.count_mismatches == 0, shown
    assert page.names() == [("Priya Natarajan", False), ("Tomas Lindqvist", True)], shown
    # Each person's role comes along. Everyone may present (Teams' default, which the form
    # keeps), so the invitee shows as a presenter.
    assert sorted(str(p["role"]) for p in page.people.values()) == ["Organizer", "Presenter"]

    control("POST", base + "/admit", {"userId": tomas_id})
    control("POST", base + "/leave", {"userId": priya_id})
    seen = process_new_bodies(seen, at_least=2)
    assert roster_of(meeting) == [("Tomas Lindqvist", False)]
    # Only what changed travels: Tomas let in, Priya gone.
    changes = inbox.messages()
    assert changes and all(m["type"] == "roster-delta" for m in changes)
    assert all("people" not in m for m in changes)
    for message in changes:
        page.take(message)
    assert page.names() == [("Tomas Lindqvist", False)] and page.gaps == 0
    # The page reads the same roster the topic carries.
    browser = Client()
    browser.force_login(priya)
    answer = browser.get(f"/meetings/{meeting.pk}/roster").json()
    assert answer["running"] is True and [p["name"] for p in answer["people"]] == [
        "Tomas Lindqvist"
    ]

    control("POST", base + "/end")
    process_new_bodies(seen)
    meeting.refresh_from_db()
    assert not meeting.is_running and roster_of(meeting) == []
    for message in inbox.messages():
        page.take(message)
    assert page.running is False and page.names() == []

    page = browser.get(f"/meetings/{meeting.pk}/attendance/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Priya Natarajan" in html and "Tomas Lindqvist" in html
    assert "<svg" in html and "timeline-bar" in html
    (stored,) = meeting.attendance_reports.all()
    assert stored.participant_count == 2
    download = browser.get(f"/meetings/{meeting.pk}/attendance/{stored.pk}.csv")
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows[0][:4] == ["Name", "Email", "Role", "Total seconds"]
    assert sorted((row[0], row[2]) for row in rows[1:]) == [
        ("Priya Natarajan", "Organizer"),
        ("Tomas Lindqvist", "Attendee"),
    ]
    # Only the organizer reads attendance.
    tomas = Client()
    tomas.force_login(sign_in_person(TOMAS, scopes=MEETING_SCOPES))
    assert tomas.get(f"/meetings/{meeting.pk}/attendance/").status_code == 404
    assert tomas.get(f"/meetings/{meeting.pk}/attendance/{stored.pk}.csv").status_code == 404

    # Cancelled, the meeting is no longer watched.
    services.cancel_meeting(user=priya, meeting=meeting)
    assert handlers.watch_meetings()["dropped"] == 1
    assert not Subscription.objects.of_kind(handlers.KIND).exists()


def test_without_an_access_policy_for_the_organizer_there_is_no_subscription(
    sandbox: RunningSandbox, control: Control
) -> None:
    priya = sign_in_person(PRIYA, scopes=MEETING_SCOPES)
    meeting = meeting_now(priya)
    control("POST", "/meetings/access-policy", {"everyone": False})
    try:
        report = handlers.watch_meetings()
    finally:
        control("POST", "/meetings/access-policy", {"everyone": True})
    assert report["failed"] == 1
    assert not Subscription.objects.of_kind(handlers.KIND).exists()
    # Graph is not asked again at every pass; the page says why there is no live roster.
    assert handlers.watch_meetings()["set_aside"] == 1
    browser = Client()
    browser.force_login(priya)
    page = browser.get(f"/meetings/{meeting.pk}/").content.decode()
    assert "does not let the portal follow this meeting" in page


def test_the_handler_drops_what_is_no_call_event(sandbox: RunningSandbox, control: Control) -> None:
    priya = sign_in_person(PRIYA, scopes=MEETING_SCOPES)
    meeting = meeting_now(priya)
    handlers.watch_meetings()
    (subscription,) = Subscription.objects.of_kind(handlers.KIND)

    def change(data: dict[str, Any] | None, sub: Subscription = subscription) -> Change:
        return Change(
            subscription=sub,
            change_type="updated",
            resource="communications/onlineMeetings(joinWebUrl='x')/meetingCallEvents",
            resource_data=data,
            resource_id=None,
            tenant_id=None,
        )

    orphan = Subscription(kind=handlers.KIND, scope=[999999])
    handled = handlers.handle_call_events(
        [
            change(None),
            change({"@odata.type": "#microsoft.graph.presence", "availability": "Busy"}),
            change({"@odata.type": "#microsoft.graph.callevent"}),
            change(
                {
                    "@odata.type": "#microsoft.graph.callevent",
                    "eventType": "rosterUpdated",
                    "participants@delta": [{"isInLobby": "maybe"}],
                }
            ),
            change(
                {"@odata.type": "#microsoft.graph.callevent", "eventType": "callStarted"}, orphan
            ),
            change({"@odata.type": "#microsoft.graph.callevent", "eventType": "somethingNew"}),
        ]
    )
    assert handled.dropped == 5 and handled.changed == 1
    meeting.refresh_from_db()
    assert not meeting.is_running and roster_of(meeting) == []


def test_only_the_organizer_and_invitees_may_watch_a_meeting(
    sandbox: RunningSandbox, control: Control
) -> None:
    priya = sign_in_person(PRIYA, scopes=MEETING_SCOPES)
    meeting = meeting_now(priya, TOMAS)
    tomas = User.objects.create(username="t", object_id=user_id_of(sandbox.info, TOMAS))
    grace = User.objects.create(username="g", object_id=user_id_of(sandbox.info, GRACE))
    key = str(meeting.pk)
    assert MEETING.refused_keys(priya, [key]) == set()
    assert MEETING.refused_keys(tomas, [key]) == set()
    assert MEETING.refused_keys(grace, [key, "999999"]) == {key, "999999"}
    kind, parsed = split_topic(meeting_topic(meeting.pk))
    assert (kind.name, parsed) == ("meeting", key)
    for bad in ("meeting:abc", "meeting:0", "meeting:-1"):
        with pytest.raises(UnknownTopic):
            split_topic(bad)


def test_a_batch_of_call_events_reaches_the_pages_as_one_message(
    sandbox: RunningSandbox, control: Control
) -> None:
    priya = sign_in_person(PRIYA, scopes=MEETING_SCOPES)
    meeting = meeting_now(priya, TOMAS)
    handlers.watch_meetings()
    (subscription,) = Subscription.objects.of_kind(handlers.KIND)
    inbox = TopicInbox(meeting_topic(meeting.pk))

    def joined(person: str, second: int) -> Change:
        return Change(
            subscription=subscription,
            change_type="updated",
            resource="communications/onlineMeetings(joinWebUrl='x')/meetingCallEvents",
            resource_data={
                "@odata.type": "#microsoft.graph.callevent",
                "eventType": "rosterUpdated",
                "eventDateTime": f"2030-03-04T09:00:{second:02d}Z",
                "participants@delta": [
                    {
                        "id": f"p-{person}",
                        "isInLobby": False,
                        "info": {"identity": {"user": {"id": person, "displayName": person}}},
                    }
                ],
            },
            resource_id=None,
            tenant_id=None,
        )

    handled = handlers.handle_call_events([joined("Ada", 1), joined("Alan", 2), joined("Hedy", 3)])
    assert handled.changed == 3 and handled.dropped == 0
    (message,) = inbox.messages()
    assert message["type"] == "roster-delta" and message["count"] == 3
    assert [p["name"] for p in message["joined"]] == ["Ada", "Alan", "Hedy"]
