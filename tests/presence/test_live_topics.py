"""Presence on the live channel: any employee may watch anyone, and changes reach the watchers."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from presence.topics import presence_topic, publish_presences
from tests.support.live import live_fanout, open_socket, session_cookie, watch

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.usefixtures(live_fanout.__name__),
]

ADA = "7e570000-0000-4000-8000-0000000000a1"
ALAN = "7e570000-0000-4000-8000-0000000000a2"


async def test_a_change_reaches_only_the_pages_showing_that_person() -> None:
    showing_ada = await open_socket(await sync_to_async(session_cookie)("margaret"))
    showing_alan = await open_socket(await sync_to_async(session_cookie)("grace"))
    try:
        assert await watch(showing_ada, [presence_topic(ADA)]) == {"type": "watching", "count": 1}
        await watch(showing_alan, [presence_topic(ALAN)])

        change = {"person_id": ADA, "availability": "Busy", "activity": "InACall"}
        await sync_to_async(publish_presences)([(ADA, change)])

        assert await showing_ada.receive_json_from(timeout=5) == {
            "type": "presence",
            "presence": change,
        }
        assert await showing_alan.receive_nothing(timeout=0.5)
    finally:
        await showing_ada.disconnect()
        await showing_alan.disconnect()


async def test_a_person_id_of_the_wrong_shape_is_refused() -> None:
    page = await open_socket(await sync_to_async(session_cookie)("margaret"))
    try:
        answer = await watch(page, [presence_topic(ADA), "presence:a b"])
        assert answer["refused"] == ["presence:a b"]
        assert answer["error"].endswith("'presence:a b' is not a valid presence topic")
    finally:
        await page.disconnect()
