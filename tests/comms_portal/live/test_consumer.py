"""The live socket on the real Redis: who may connect, who may watch what, what it relays."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.models import User
from comms_portal import live
from comms_portal.live import fanout, topics
from comms_portal.live.backends import redis_channel
from comms_portal.live.consumer import CLOSE_UNAUTHENTICATED
from comms_portal.live.layer import process_layer_fanout
from comms_portal.live.topics import TopicKind
from comms_portal.live.watching import MAX_TOPICS
from comms_portal.redis_client import get_async_redis
from tests.support.live import live_fanout, open_socket, session_cookie, watch

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="session"),
    # Every test runs on our own fan-out and on Channels' pub/sub layer.
    pytest.mark.usefixtures(live_fanout.__name__),
]


def _anyone(user: Any, keys: list[str]) -> set[str]:
    return set()


def _staff_only(user: Any, keys: list[str]) -> set[str]:
    """Refuse every key unless the watcher is staff now, read afresh from the database."""
    if User.objects.filter(pk=user.pk, is_staff=True).exists():
        return set()
    return set(keys)


# A board open to everyone (checked without the database) and a vault for staff only.
BOARD = TopicKind(
    name="board", key_shape=re.compile(r"[a-z]{1,20}"), refused_keys=_anyone, queries_database=False
)
VAULT = TopicKind(name="vault", key_shape=re.compile(r"[a-z]{1,20}"), refused_keys=_staff_only)


@pytest.fixture(autouse=True)
def test_kinds() -> Iterator[None]:
    topics.register(BOARD)
    topics.register(VAULT)
    yield
    topics.unregister(BOARD.name)
    topics.unregister(VAULT.name)


@pytest.fixture
async def socket() -> AsyncIterator[WebsocketCommunicator]:
    communicator = await open_socket(await sync_to_async(session_cookie)("margaret"))
    yield communicator
    await communicator.disconnect()


async def _publish(topic: str, message: dict[str, Any]) -> None:
    await sync_to_async(live.publish)(topic, message)


async def test_a_signed_out_socket_is_closed_with_4401() -> None:
    communicator = await open_socket(None)
    closing = await communicator.receive_output(timeout=5)
    assert closing == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("not json", "a message must be valid JSON"),
        ("[1, 2]", "a message must be a JSON object"),
        ('{"type": "shout"}', "unknown message type 'shout'; send 'watch'"),
        ('{"type": "watch", "ids": ["x"]}', "'topics' must be a list of topics such as"),
        ('{"type": "watch", "topics": "board:a"}', "'topics' must be a list of topics such as"),
        ('{"type": "watch", "topics": [42]}', "'42' is not a topic: topics are text"),
        ('{"type": "watch", "topics": ["board:a"], "extra": 1}', None),
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
        assert answer["type"] == "error"
        assert answer["error"].startswith(error)
    # Still open and still obeying.
    assert await watch(socket, ["board:b"]) == {"type": "watching", "count": 1}


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("sales", "'sales' is not a topic: write '<kind>:<key>'"),
        ("gossip:lunch", "'gossip:lunch' is of no known kind ('gossip')"),
        ("board:Not Lower", "'board:Not Lower' is not a valid board topic"),
        ("board:", "'board:' is not a valid board topic"),
        ("board:a:b", "'board:a:b' is not a valid board topic"),
    ],
)
async def test_unknown_kinds_and_malformed_keys_are_refused(
    socket: WebsocketCommunicator, topic: str, reason: str
) -> None:
    assert await watch(socket, ["board:fine", topic]) == {
        "type": "error",
        "error": f"watch refused, still watching what was watched before: {reason}",
        "refused": [topic],
    }


async def test_too_many_topics_at_once_is_refused(socket: WebsocketCommunicator) -> None:
    many = [f"board:{chr(97 + n % 26)}{'x' * (n // 26)}" for n in range(MAX_TOPICS + 1)]
    assert await watch(socket, many) == {
        "type": "error",
        "error": f"at most {MAX_TOPICS} topics can be watched at once",
    }


async def test_binary_frames_are_refused_politely(socket: WebsocketCommunicator) -> None:
    await socket.send_to(bytes_data=b"\x00\x01")
    assert await socket.receive_json_from(timeout=5) == {
        "type": "error",
        "error": "send text frames of JSON",
    }


async def test_a_message_reaches_only_sockets_watching_its_topic() -> None:
    sales = await open_socket(await sync_to_async(session_cookie)("margaret"))
    support = await open_socket(await sync_to_async(session_cookie)("grace"))
    try:
        assert await watch(sales, ["board:sales"]) == {"type": "watching", "count": 1}
        await watch(support, ["board:support"])

        await _publish("board:sales", {"type": "board", "orders": 3})

        assert await sales.receive_json_from(timeout=5) == {"type": "board", "orders": 3}
        assert await support.receive_nothing(timeout=0.5)
    finally:
        await sales.disconnect()
        await support.disconnect()


async def test_watching_replaces_the_set_of_topics(socket: WebsocketCommunicator) -> None:
    await watch(socket, ["board:sales", "board:support"])
    assert await watch(socket, ["board:support"]) == {"type": "watching", "count": 1}
    await _publish("board:sales", {"n": 1})
    assert await socket.receive_nothing(timeout=0.5)
    await _publish("board:support", {"n": 2})
    assert await socket.receive_json_from(timeout=5) == {"n": 2}


async def test_a_refused_topic_refuses_the_watch_and_nothing_of_it_arrives(
    socket: WebsocketCommunicator,
) -> None:
    await watch(socket, ["board:sales"])
    answer = await watch(socket, ["board:support", "vault:payroll", "vault:bonus"])
    assert answer == {
        "type": "error",
        "error": "watch refused, still watching what was watched before: "
        "you may not watch 'vault:payroll' (and 1 more)",
        "refused": ["vault:payroll", "vault:bonus"],
    }
    await _publish("vault:payroll", {"salary": "secret"})
    await _publish("board:support", {"n": "not watched either: the whole watch was refused"})
    assert await socket.receive_nothing(timeout=0.5)
    # What was watched before still is.
    await _publish("board:sales", {"n": 1})
    assert await socket.receive_json_from(timeout=5) == {"n": 1}


async def test_every_watch_is_checked_again() -> None:
    cookie = await sync_to_async(session_cookie)("margaret")
    margaret = await sync_to_async(User.objects.get)(username="margaret")
    socket = await open_socket(cookie)
    try:
        assert (await watch(socket, ["vault:payroll"]))["refused"] == ["vault:payroll"]

        margaret.is_staff = True
        await sync_to_async(margaret.save)()
        assert await watch(socket, ["vault:payroll"]) == {"type": "watching", "count": 1}
        await _publish("vault:payroll", {"n": 1})
        assert await socket.receive_json_from(timeout=5) == {"n": 1}

        margaret.is_staff = False
        await sync_to_async(margaret.save)()
        assert (await watch(socket, ["vault:payroll", "board:a"]))["refused"] == ["vault:payroll"]
    finally:
        await socket.disconnect()


async def test_notices_reach_every_open_page_of_that_person_only() -> None:
    margaret_cookie = await sync_to_async(session_cookie)("margaret")
    first_tab = await open_socket(margaret_cookie)
    second_tab = await open_socket(margaret_cookie)
    someone_else = await open_socket(await sync_to_async(session_cookie)("grace"))
    try:
        margaret = await sync_to_async(User.objects.get)(username="margaret")
        notice = {"kind": "available", "message": "Ada Lovelace is available now."}
        await sync_to_async(live.notify_user)(margaret.pk, notice)
        for tab in (first_tab, second_tab):
            assert await tab.receive_json_from(timeout=5) == {"type": "notice", "notice": notice}
        assert await someone_else.receive_nothing(timeout=0.5)
    finally:
        for communicator in (first_tab, second_tab, someone_else):
            await communicator.disconnect()


async def test_nobody_may_watch_another_persons_notices() -> None:
    margaret_cookie = await sync_to_async(session_cookie)("margaret")
    await sync_to_async(session_cookie)("grace")
    margaret, grace = [
        await sync_to_async(User.objects.get)(username=name) for name in ("margaret", "grace")
    ]
    socket = await open_socket(margaret_cookie)
    try:
        assert await watch(socket, [f"user:{grace.pk}"]) == {
            "type": "error",
            "error": "watch refused, still watching what was watched before: "
            f"you may not watch 'user:{grace.pk}'",
            "refused": [f"user:{grace.pk}"],
        }
        await sync_to_async(live.notify_user)(grace.pk, {"message": "for Grace only"})
        assert await socket.receive_nothing(timeout=0.5)
        # Naming one's own is allowed, if needless.
        assert await watch(socket, [f"user:{margaret.pk}"]) == {"type": "watching", "count": 1}
    finally:
        await socket.disconnect()


async def test_a_lost_redis_connection_is_healed_and_the_page_told_to_resync(
    socket: WebsocketCommunicator,
) -> None:
    await watch(socket, ["board:sales"])
    # What a Redis restart does to a listening process: its pub/sub connection is cut.
    killed = await get_async_redis().client_kill_filter(_type="pubsub")
    assert killed >= 1

    # The process reconnects on its own, subscribes again, and tells the page that it may
    # have missed messages meanwhile (the page re-reads its snapshot on that).
    assert await socket.receive_json_from(timeout=10) == {"type": "resync"}
    await _publish("board:sales", {"n": 1})
    assert await socket.receive_json_from(timeout=5) == {"n": 1}


async def test_a_topic_no_page_watches_any_more_is_no_longer_subscribed(
    socket: WebsocketCommunicator,
) -> None:
    await watch(socket, ["board:sales", "board:support"])
    redis = get_async_redis()
    channel = redis_channel("board:support")
    assert await redis.pubsub_numsub(channel) == [(channel.encode(), 1)]
    await watch(socket, ["board:sales"])
    # The unsubscription is sent without waiting; the next watch's round trip settles it.
    await watch(socket, ["board:sales"])
    assert await redis.pubsub_numsub(channel) == [(channel.encode(), 0)]


async def test_a_page_is_told_when_live_updates_are_unavailable(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cookie = await sync_to_async(session_cookie)("margaret")
    monkeypatch.setattr(fanout, "FOLLOW_TIMEOUT_SECONDS", 0.5)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    communicator = await open_socket(cookie)
    try:
        answer = await communicator.receive_json_from(timeout=5)
        assert answer == {
            "type": "unavailable",
            "error": "live updates are unavailable: Redis does not answer",
        }
        # The socket stays open, and the page's next watch gets the same answer.
        await communicator.send_json_to({"type": "watch", "topics": ["board:sales"]})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "unavailable"
    finally:
        await communicator.disconnect()
        nowhere = "redis://127.0.0.1:1/0"
        await fanout.process_fanout(nowhere, prefix=topics.namespace(nowhere)).close()
        await process_layer_fanout(nowhere, prefix=topics.namespace(nowhere)).close()
