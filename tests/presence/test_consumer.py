"""The presence socket on the real Redis: who may connect, what it relays, how it heals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from accounts.models import User
from comms_portal import fanout, realtime
from comms_portal.redis_client import get_async_redis
from comms_portal.routing import websocket_urlpatterns
from presence.consumers import CLOSE_UNAUTHENTICATED, MAX_WATCHED

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio(loop_scope="session")]

ADA = "7e570000-0000-4000-8000-0000000000a1"
ALAN = "7e570000-0000-4000-8000-0000000000a2"
application = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))


def _session_cookie(username: str) -> bytes:
    user = User.objects.create(username=username, display_name=username.title())
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return f"{settings.SESSION_COOKIE_NAME}={session}".encode()


async def _open(cookie: bytes | None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1")]
    if cookie:
        headers.append((b"cookie", cookie))
    communicator = WebsocketCommunicator(application, "/ws/presence/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


@pytest.fixture
async def socket() -> AsyncIterator[WebsocketCommunicator]:
    cookie = await sync_to_async(_session_cookie)("margaret")
    communicator = await _open(cookie)
    yield communicator
    await communicator.disconnect()


async def _watch(communicator: WebsocketCommunicator, ids: list[str]) -> dict[str, Any]:
    await communicator.send_json_to({"type": "watch", "ids": ids})
    answer: dict[str, Any] = await communicator.receive_json_from(timeout=5)
    return answer


async def test_a_signed_out_socket_is_closed_with_4401() -> None:
    communicator = await _open(None)
    closing = await communicator.receive_output(timeout=5)
    assert closing == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("not json", "a message must be valid JSON"),
        ("[1, 2]", "a message must be a JSON object"),
        ('{"type": "shout"}', "unknown message type 'shout'; send 'watch'"),
        ('{"type": "watch", "ids": "abc"}', "'ids' must be a list of person ids"),
        ('{"type": "watch", "ids": [42]}', "'42' is not a person id"),
        ('{"type": "watch", "ids": ["a b"]}', "'a b' is not a person id"),
        ('{"type": "watch", "ids": ["x.y"], "extra": 1}', None),
    ],
)
async def test_bad_messages_are_answered_and_the_socket_stays_open(
    socket: WebsocketCommunicator, message: str, error: str | None
) -> None:
    await socket.send_to(text_data=message)
    answer = await socket.receive_json_from(timeout=5)
    if error is None:
        assert answer == {"type": "watching", "count": 1}
    else:
        assert answer == {"type": "error", "error": error}
    # Still open and still obeying.
    assert await _watch(socket, [ADA]) == {"type": "watching", "count": 1}


async def test_too_many_people_at_once_is_refused(socket: WebsocketCommunicator) -> None:
    ids = [f"7e570000-0000-4000-8000-{n:012d}" for n in range(MAX_WATCHED + 1)]
    assert await _watch(socket, ids) == {
        "type": "error",
        "error": f"at most {MAX_WATCHED} people can be watched at once",
    }


async def test_binary_frames_are_refused_politely(socket: WebsocketCommunicator) -> None:
    await socket.send_to(bytes_data=b"\x00\x01")
    assert await socket.receive_json_from(timeout=5) == {
        "type": "error",
        "error": "send text frames of JSON",
    }


async def test_a_change_reaches_only_sockets_watching_that_person() -> None:
    watching_ada = await _open(await sync_to_async(_session_cookie)("margaret"))
    watching_alan = await _open(await sync_to_async(_session_cookie)("grace"))
    try:
        await _watch(watching_ada, [ADA])
        await _watch(watching_alan, [ALAN])

        change = {"person_id": ADA, "availability": "Busy", "activity": "InACall"}
        await sync_to_async(realtime.broadcast_presence)(ADA, change)

        assert await watching_ada.receive_json_from(timeout=5) == {
            "type": "presence",
            "presence": change,
        }
        assert await watching_alan.receive_nothing(timeout=0.5)
    finally:
        await watching_ada.disconnect()
        await watching_alan.disconnect()


async def test_watching_replaces_the_set_of_people(socket: WebsocketCommunicator) -> None:
    await _watch(socket, [ADA, ALAN])
    assert await _watch(socket, [ALAN]) == {"type": "watching", "count": 1}
    await sync_to_async(realtime.broadcast_presence)(ADA, {"person_id": ADA})
    assert await socket.receive_nothing(timeout=0.5)
    await sync_to_async(realtime.broadcast_presence)(ALAN, {"person_id": ALAN})
    assert await socket.receive_json_from(timeout=5) == {
        "type": "presence",
        "presence": {"person_id": ALAN},
    }


async def test_notices_reach_every_open_page_of_that_person_only() -> None:
    margaret_cookie = await sync_to_async(_session_cookie)("margaret")
    first_tab = await _open(margaret_cookie)
    second_tab = await _open(margaret_cookie)
    someone_else = await _open(await sync_to_async(_session_cookie)("grace"))
    try:
        margaret = await sync_to_async(User.objects.get)(username="margaret")
        notice = {"kind": "available", "message": "Ada Lovelace is available now."}
        await sync_to_async(realtime.notify_user)(margaret.pk, notice)
        for tab in (first_tab, second_tab):
            assert await tab.receive_json_from(timeout=5) == {"type": "notice", "notice": notice}
        assert await someone_else.receive_nothing(timeout=0.5)
    finally:
        for communicator in (first_tab, second_tab, someone_else):
            await communicator.disconnect()


async def test_a_lost_redis_connection_is_healed_and_the_page_told_to_resync(
    socket: WebsocketCommunicator,
) -> None:
    await _watch(socket, [ADA])
    # What a Redis restart does to a listening process: its pub/sub connection is cut.
    killed = await get_async_redis().client_kill_filter(_type="pubsub")
    assert killed >= 1

    # The process reconnects on its own, subscribes again, and tells the page that it may
    # have missed changes meanwhile (the page re-reads its snapshot on that).
    assert await socket.receive_json_from(timeout=10) == {"type": "resync"}
    await sync_to_async(realtime.broadcast_presence)(ADA, {"person_id": ADA})
    assert await socket.receive_json_from(timeout=5) == {
        "type": "presence",
        "presence": {"person_id": ADA},
    }


async def test_a_person_no_page_shows_any_more_is_no_longer_subscribed(
    socket: WebsocketCommunicator,
) -> None:
    await _watch(socket, [ADA, ALAN])
    redis = get_async_redis()
    assert await redis.pubsub_numsub(realtime.presence_topic(ALAN)) == [
        (realtime.presence_topic(ALAN).encode(), 1)
    ]
    await _watch(socket, [ADA])
    # The unsubscription is sent without waiting; the next watch's round trip settles it.
    await _watch(socket, [ADA])
    assert await redis.pubsub_numsub(realtime.presence_topic(ALAN)) == [
        (realtime.presence_topic(ALAN).encode(), 0)
    ]


async def test_a_page_is_told_when_live_updates_are_unavailable(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cookie = await sync_to_async(_session_cookie)("margaret")
    monkeypatch.setattr(fanout, "FOLLOW_TIMEOUT_SECONDS", 0.5)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    communicator = await _open(cookie)
    try:
        answer = await communicator.receive_json_from(timeout=5)
        assert answer == {
            "type": "unavailable",
            "error": "live updates are unavailable: Redis does not answer",
        }
        # The socket stays open, and the page's next watch gets the same answer.
        await communicator.send_json_to({"type": "watch", "ids": [ADA]})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "unavailable"
    finally:
        await communicator.disconnect()
        await fanout.process_fanout("redis://127.0.0.1:1/0").close()
