"""What pages are told of a roster: only what changed, numbered, once per meeting and batch;
every change kept when workers apply batches of one meeting at the same time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from comms_portal.graph.meetings import CallEvent
from directory.models import Person
from meetings.models import Invitee, Meeting, RosterEntry
from meetings.roster import record_call_events, refresh_roles, roster_snapshot
from meetings.topics import meeting_topic
from tests.meetings.page_roster import PageRoster
from tests.support.live import TopicInbox

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
WORKERS = 6
JOINS_EACH = 20


def joined(seconds: float, person: str, *, left: bool = False, lobby: bool = False) -> CallEvent:
    participant: dict[str, Any] = {
        "id": f"p-{person}",
        "isInLobby": lobby,
        "info": {"identity": {"user": {"id": person, "displayName": person.title()}}},
    }
    if left:
        participant["removedState"] = {"reason": "Participant has left the meeting call."}
    return CallEvent.model_validate(
        {
            "eventType": "rosterUpdated",
            "eventDateTime": (T0 + timedelta(seconds=seconds)).isoformat(),
            "participants@delta": [participant],
        }
    )


def started(seconds: float = 0) -> CallEvent:
    return CallEvent.model_validate(
        {"eventType": "callStarted", "eventDateTime": (T0 + timedelta(seconds=seconds)).isoformat()}
    )


def a_meeting() -> Meeting:
    now = timezone.now()
    meeting = Meeting.objects.create(
        graph_id=f"m-{Meeting.objects.count()}",
        organizer_graph_id="ada",
        start=now,
        end=now + timedelta(hours=1),
        join_web_url="https://teams.microsoft.com/l/meetup-join/x",
    )
    Invitee.objects.create(meeting=meeting, graph_id="Alan", role="presenter")
    return meeting


def test_a_batch_is_one_message_of_what_changed() -> None:
    meeting = a_meeting()
    inbox = TopicInbox(meeting_topic(meeting.pk))
    page = PageRoster()
    record_call_events(meeting.pk, [started(), joined(1, "ada"), joined(2, "alan", lobby=True)])
    record_call_events(
        meeting.pk,
        [joined(3, "alan"), joined(4, "grace"), joined(5, "edsger"), joined(6, "grace", left=True)],
    )
    first, second = inbox.messages()
    # The call started in the first batch: the (small) whole roster goes out.
    assert first["type"] == "roster" and first["version"] == 1 and first["count"] == 2
    page.take(first)
    # Four events, one message: Alan let in, Edsger joined; Grace came and went unseen.
    assert second["type"] == "roster-delta" and second["version"] == 2
    assert [p["name"] for p in second["joined"]] == ["Edsger"]
    assert [(p["name"], p["inLobby"], p["role"]) for p in second["changed"]] == [
        ("Alan", False, "Presenter")
    ]
    assert second["left"] == [] and second["count"] == 3
    page.take(second)
    assert page.names() == [("Ada", False), ("Alan", False), ("Edsger", False)]
    assert {p["name"]: p["role"] for p in page.people.values()} == {
        "Ada": "Organizer",
        "Alan": "Presenter",
        "Edsger": "Attendee",
    }
    # Old news changes nothing shown, so nobody is told anything.
    record_call_events(meeting.pk, [joined(0.5, "ada", lobby=True)])
    assert inbox.messages(wait=0.3) == []
    # A page that reads the roster now holds version 2 and skips what it already has.
    snapshot = roster_snapshot(Meeting.objects.get(pk=meeting.pk))
    assert snapshot["version"] == 2 and snapshot["count"] == 3


def test_a_changed_invitation_tells_pages_of_the_roles_it_changed_only() -> None:
    meeting = a_meeting()
    record_call_events(
        meeting.pk, [started(), joined(1, "ada"), joined(2, "alan"), joined(3, "edsger")]
    )
    inbox = TopicInbox(meeting_topic(meeting.pk))
    # Alan no longer presents; Edsger does now.
    Invitee.objects.filter(meeting=meeting, graph_id="Alan").delete()
    Invitee.objects.create(meeting=meeting, graph_id="edsger", role="presenter")
    assert refresh_roles(meeting.pk) == 2
    (message,) = inbox.messages()
    assert message["type"] == "roster-delta" and message["version"] == 2
    assert message["joined"] == [] and message["left"] == [] and message["count"] == 3
    assert sorted((p["name"], p["role"]) for p in message["changed"]) == [
        ("Alan", "Attendee"),
        ("Edsger", "Presenter"),
    ]
    # Nothing more changed: nothing more to say.
    assert refresh_roles(meeting.pk) == 0
    assert inbox.messages(wait=0.3) == []
    people = roster_snapshot(Meeting.objects.get(pk=meeting.pk))["people"]
    assert {p["name"]: p["role"] for p in people} == {  # type: ignore[attr-defined]
        "Ada": "Organizer",
        "Alan": "Attendee",
        "Edsger": "Presenter",
    }


def test_a_leave_and_a_join_of_the_same_instant_leave_the_person_out_in_any_order() -> None:
    for order in ((False, True), (True, False)):
        meeting = a_meeting()
        record_call_events(meeting.pk, [started()])
        for left in order:
            record_call_events(meeting.pk, [joined(5, "grace", left=left)])
        shown = roster_snapshot(Meeting.objects.get(pk=meeting.pk))
        assert shown["people"] == [] and shown["count"] == 0, order


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite's in-memory test database locks tables instead of letting writers wait; "
    "the suite's PostgreSQL run exercises this",
)
def test_workers_applying_batches_of_one_meeting_at_once_keep_every_participant() -> None:
    meeting = a_meeting()
    record_call_events(meeting.pk, [started()])
    inbox = TopicInbox(meeting_topic(meeting.pk))
    barrier = threading.Barrier(WORKERS)
    failures: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            barrier.wait()
            for index in range(JOINS_EACH):
                person = f"w{number}-{index}"
                # Each batch joins one person and lets the previous one of this worker leave,
                # so that every batch changes the roster for every worker at once.
                batch = [joined(10 + index, person)]
                if index % 4 == 3:
                    batch.append(joined(10 + index, f"w{number}-{index - 1}", left=True))
                record_call_events(meeting.pk, batch)
        except BaseException as error:  # reported by the test below
            failures.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(number,)) for number in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    gone = {f"w{n}-{i - 1}" for n in range(WORKERS) for i in range(JOINS_EACH) if i % 4 == 3}
    everyone = {f"w{n}-{i}" for n in range(WORKERS) for i in range(JOINS_EACH)}
    stored = set(
        RosterEntry.objects.filter(meeting=meeting, left_at__isnull=True).values_list(
            "graph_id", flat=True
        )
    )
    assert stored == everyone - gone
    # Every batch got a number of its own, none skipped or shared, and a page that applies
    # the messages in that order shows exactly the stored roster with the right count.
    messages = sorted(inbox.messages(), key=lambda message: message["version"])
    assert [m["version"] for m in messages] == list(range(2, 2 + WORKERS * JOINS_EACH))
    page = PageRoster(version=1, running=True)
    for message in messages:
        page.take(message)
    assert page.gaps == 0 and page.count_mismatches == 0
    assert {p["id"] for p in page.people.values()} == everyone - gone


@pytest.mark.parametrize(
    ("who_presents", "roles"),
    [
        # Only the invitation's roles count: the uninvited colleague and the guest attend.
        ("roleIsPresenter", {"Alan": "Presenter", "Grace": "Attendee", "Guest": "Attendee"}),
        # Everyone in the organizer's organization (the directory) presents; a guest does not.
        ("organization", {"Alan": "Presenter", "Grace": "Presenter", "Guest": "Attendee"}),
        ("everyone", {"Alan": "Presenter", "Grace": "Presenter", "Guest": "Presenter"}),
    ],
)
def test_who_may_present_decides_the_roles_of_people_not_invited_as_presenters(
    who_presents: str, roles: dict[str, str]
) -> None:
    Person.objects.create(graph_id="grace", display_name="Grace", user_principal_name="g@x.org")
    meeting = a_meeting()
    Meeting.objects.filter(pk=meeting.pk).update(allowed_presenters=who_presents)
    record_call_events(
        meeting.pk, [started(), joined(1, "alan"), joined(2, "grace"), joined(3, "guest")]
    )
    people = roster_snapshot(Meeting.objects.get(pk=meeting.pk))["people"]
    assert {person["name"]: person["role"] for person in people} == roles
