"""Meeting call events in any order: the roster ends up as the latest news says."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from comms_portal.graph.meetings import CallEvent
from meetings.models import Meeting
from meetings.services import record_call_event, roster_message

pytestmark = pytest.mark.django_db

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def roster(minutes: int, person: str, *, lobby: bool = False, left: bool = False) -> dict[str, Any]:
    participant: dict[str, Any] = {
        "id": f"p-{person}",
        "isInLobby": lobby,
        "info": {"identity": {"user": {"id": person, "displayName": person.title()}}},
    }
    if left:
        participant["removedState"] = {"reason": "Participant has left the meeting call."}
    return {
        "eventType": "rosterUpdated",
        "eventDateTime": at(minutes),
        "participants@delta": [participant],
    }


def call(kind: str, minutes: int) -> dict[str, Any]:
    return {"eventType": kind, "eventDateTime": at(minutes)}


def fresh_meeting() -> Meeting:
    start = timezone.now()
    return Meeting.objects.create(
        graph_id=f"m-{Meeting.objects.count()}",
        organizer_graph_id="o",
        start=start,
        end=start + timedelta(minutes=30),
        join_web_url="https://teams.microsoft.com/l/meetup-join/x",
    )


def shown(meeting: Meeting) -> tuple[bool, list[tuple[str, bool]]]:
    message = roster_message(Meeting.objects.get(pk=meeting.pk))
    people = [(str(p["name"]), bool(p["inLobby"])) for p in message["people"]]  # type: ignore[attr-defined]
    return bool(message["running"]), sorted(people)


RUNNING = [
    call("callStarted", 0),
    roster(1, "ada"),
    roster(2, "alan", lobby=True),
    roster(3, "alan"),
    roster(4, "grace"),
    roster(5, "grace", left=True),
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(RUNNING))))[::37])
def test_any_order_of_the_same_events_gives_the_same_roster(order: tuple[int, ...]) -> None:
    meeting = fresh_meeting()
    for index in order:
        record_call_event(meeting, CallEvent.model_validate(RUNNING[index]))
    assert shown(meeting) == (True, [("Ada", False), ("Alan", False)])


def test_the_end_wins_over_late_changes_and_a_new_call_starts_clean() -> None:
    meeting = fresh_meeting()
    for event in (call("callEnded", 10), roster(4, "ada"), call("callStarted", 0)):
        record_call_event(meeting, CallEvent.model_validate(event))
    assert shown(meeting) == (False, [])
    for event in (roster(21, "alan"), call("callStarted", 20)):
        record_call_event(meeting, CallEvent.model_validate(event))
    assert shown(meeting) == (True, [("Alan", False)])
