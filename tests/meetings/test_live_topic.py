"""The meeting topic on the live channel: organizer and invitees watch it and hear the roster;
anyone else is refused, naming the topic."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from accounts.models import User
from comms_portal.graph.meetings import CallEvent
from meetings.models import Invitee, Meeting
from meetings.services import record_call_event
from meetings.topics import meeting_topic
from tests.support.live import live_fanout, open_socket, signed_in_browser, watch

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.usefixtures(live_fanout.__name__),
]


def cast() -> tuple[Meeting, bytes, bytes, bytes]:
    organizer = User.objects.create(username="adele", object_id="a-1")
    invitee = User.objects.create(username="alex", object_id="b-2")
    stranger = User.objects.create(username="megan", object_id="c-3")
    start = timezone.now()
    meeting = Meeting.objects.create(
        graph_id="m1",
        organizer=organizer,
        organizer_graph_id="a-1",
        subject="Stand-up",
        start=start,
        end=start + timedelta(minutes=30),
        join_web_url="https://teams.microsoft.com/l/meetup-join/m1",
    )
    Invitee.objects.create(meeting=meeting, graph_id="B-2", display_name="Alex Wilber")
    cookies = [signed_in_browser(user)[1] for user in (organizer, invitee, stranger)]
    return meeting, cookies[0], cookies[1], cookies[2]


async def test_organizer_and_invitee_hear_the_roster_and_a_stranger_is_refused() -> None:
    meeting, organizer, invitee, stranger = await sync_to_async(cast)()
    topic = meeting_topic(meeting.pk)
    pages = [await open_socket(cookie) for cookie in (organizer, invitee, stranger)]
    try:
        assert await watch(pages[0], [topic]) == {"type": "watching", "count": 1}
        assert await watch(pages[1], [topic]) == {"type": "watching", "count": 1}
        refused = await watch(pages[2], [topic])
        assert refused["refused"] == [topic]
        event = CallEvent.model_validate(
            {
                "eventType": "rosterUpdated",
                "participants@delta": [
                    {
                        "id": "p1",
                        "isInLobby": True,
                        "info": {"identity": {"user": {"id": "b-2", "displayName": "Alex Wilber"}}},
                    }
                ],
            }
        )
        await sync_to_async(record_call_event)(meeting, event)
        for page in pages[:2]:
            message = await page.receive_json_from(timeout=5)
            assert message["type"] == "roster-delta" and message["running"] is True
            assert message["count"] == 1 and message["left"] == [] and message["changed"] == []
            assert message["joined"] == [
                {
                    "key": "p1",
                    "id": "b-2",
                    "name": "Alex Wilber",
                    "role": "Attendee",
                    "inLobby": True,
                    "since": message["joined"][0]["since"],
                }
            ]
        assert await pages[2].receive_nothing(timeout=0.5)
    finally:
        for page in pages:
            await page.disconnect()


async def test_a_meeting_topic_of_the_wrong_shape_is_refused() -> None:
    _, organizer, _, _ = await sync_to_async(cast)()
    page = await open_socket(organizer)
    try:
        answer = await watch(page, ["meeting:first"])
        assert answer["refused"] == ["meeting:first"]
    finally:
        await page.disconnect()
