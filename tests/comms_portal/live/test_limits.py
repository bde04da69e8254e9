"""What one person may hold of the live channel: open sockets, and watch messages a minute."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import User
from comms_portal import live
from comms_portal.live import limits, topics
from comms_portal.live.consumer import CLOSE_FLOODING, CLOSE_TOO_MANY_SOCKETS
from comms_portal.live.limits import (
    STALE_AFTER_SECONDS,
    process_socket_slots,
    sockets_key,
)
from comms_portal.live.topics import TopicKind
from comms_portal.redis_client import get_redis
from tests.support.live import live_fanout, open_socket, session_cookie, watch

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.usefixtures(live_fanout.__name__),
]

BOARD = TopicKind(
    name="board",
    key_shape=re.compile(r"[a-z]{1,20}"),
    refused_keys=lambda user, keys: set(),
    queries_database=False,
)


@pytest.fixture(autouse=True)
def board() -> Iterator[None]:
    topics.register(BOARD)
    yield
    topics.unregister(BOARD.name)


@pytest.fixture(autouse=True)
def no_counted_sockets() -> Iterator[None]:
    def wipe() -> None:
        redis = get_redis()
        for key in redis.scan_iter(match=f"{limits.KEY_PREFIX}*"):
            redis.delete(key)

    wipe()
    yield
    wipe()


def too_many(limit: int) -> dict[str, Any]:
    return {
        "type": "websocket.close",
        "code": CLOSE_TOO_MANY_SOCKETS,
        "reason": f"at most {limit} live pages per person",
    }


async def open_all(cookie: bytes, count: int) -> list[WebsocketCommunicator]:
    sockets = [await open_socket(cookie) for _ in range(count)]
    for socket in sockets:
        assert await watch(socket, []) == {"type": "watching", "count": 0}
    return sockets


async def test_a_person_may_hold_only_so_many_sockets(settings: SettingsWrapper) -> None:
    settings.LIVE_MAX_SOCKETS_PER_PERSON = 2
    ada = await sync_to_async(session_cookie)("ada")
    grace = await sync_to_async(session_cookie)("grace")
    held = await open_all(ada, 2)
    others = await open_all(grace, 2)
    try:
        one_too_many = await open_socket(ada)
        assert await one_too_many.receive_output(timeout=5) == too_many(2)
        await one_too_many.disconnect()

        # Closing a page frees its place for the next one.
        await held.pop().disconnect()
        held += await open_all(ada, 1)
        assert len(held) == 2
    finally:
        for socket in held + others:
            await socket.disconnect()


async def test_sockets_are_counted_across_processes_and_a_dead_ones_expire(
    settings: SettingsWrapper,
) -> None:
    settings.LIVE_MAX_SOCKETS_PER_PERSON = 2
    cookie = await sync_to_async(session_cookie)("ada")
    ada = await sync_to_async(User.objects.get)(username="ada")
    key = sockets_key(ada.pk)
    # Another ASGI process holds one of Ada's sockets and vouches for it.
    get_redis().zadd(key, {"elsewhere-alive": time.time()})
    held = await open_all(cookie, 1)
    try:
        refused = await open_socket(cookie)
        assert await refused.receive_output(timeout=5) == too_many(2)
        await refused.disconnect()

        # That process dies: its socket is no longer vouched for, and stops counting.
        get_redis().zadd(key, {"elsewhere-alive": time.time() - STALE_AFTER_SECONDS - 1})
        held += await open_all(cookie, 1)
        assert get_redis().zscore(key, "elsewhere-alive") is None
        assert get_redis().zcard(key) == 2
    finally:
        for socket in held:
            await socket.disconnect()
    assert get_redis().zcard(key) == 0


async def test_a_heartbeat_keeps_the_sockets_of_a_live_process_counted() -> None:
    cookie = await sync_to_async(session_cookie)("ada")
    ada = await sync_to_async(User.objects.get)(username="ada")
    key = sockets_key(ada.pk)
    (socket,) = await open_all(cookie, 1)
    try:
        (member,) = get_redis().zrange(key, 0, -1)
        get_redis().zadd(key, {member: 1.0})
        await process_socket_slots(django_settings.REDIS_URL).beat()
        score = get_redis().zscore(key, member)
        assert score is not None and score > time.time() - STALE_AFTER_SECONDS
    finally:
        await socket.disconnect()


async def test_watch_messages_past_the_limit_are_refused_and_ignored(
    settings: SettingsWrapper,
) -> None:
    settings.LIVE_WATCH_MESSAGES_PER_MINUTE = 3
    socket = await open_socket(await sync_to_async(session_cookie)("ada"))
    try:
        for _ in range(2):
            assert await watch(socket, ["board:sales"]) == {"type": "watching", "count": 1}
        assert await watch(socket, ["board:sales", "board:support"]) == {
            "type": "watching",
            "count": 2,
        }

        refused = await watch(socket, ["board:lunch"])
        assert refused["type"] == "error"
        assert refused["error"] == (
            "too many watch messages: at most 3 a minute; this one is ignored"
        )
        assert 1 <= refused["retry_after"] <= 60

        # Ignored: what was watched before still is, and nothing new.
        await sync_to_async(live.publish)("board:lunch", {"n": 1})
        await sync_to_async(live.publish)("board:support", {"n": 2})
        assert await socket.receive_json_from(timeout=5) == {"n": 2}
    finally:
        await socket.disconnect()


async def test_a_socket_that_keeps_flooding_is_closed(settings: SettingsWrapper) -> None:
    settings.LIVE_WATCH_MESSAGES_PER_MINUTE = 3
    socket = await open_socket(await sync_to_async(session_cookie)("ada"))
    try:
        for _ in range(3):
            assert (await watch(socket, []))["type"] == "watching"
        for _ in range(3):
            assert (await watch(socket, []))["type"] == "error"
        await socket.send_json_to({"type": "watch", "topics": []})
        assert await socket.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": CLOSE_FLOODING,
            "reason": "too many messages",
        }
    finally:
        await socket.disconnect()


async def test_pings_are_answered_and_do_not_use_up_the_watch_messages(
    settings: SettingsWrapper,
) -> None:
    settings.LIVE_WATCH_MESSAGES_PER_MINUTE = 1
    socket = await open_socket(await sync_to_async(session_cookie)("ada"))
    try:
        for _ in range(5):
            await socket.send_to(text_data='{"type":"ping"}')
            assert await socket.receive_json_from(timeout=5) == {"type": "pong"}
        assert await watch(socket, ["board:sales"]) == {"type": "watching", "count": 1}
    finally:
        await socket.disconnect()


async def test_pings_past_their_limit_are_refused_and_nothing_else_is_lost(
    settings: SettingsWrapper,
) -> None:
    settings.LIVE_PINGS_PER_MINUTE = 3
    settings.LIVE_WATCH_MESSAGES_PER_MINUTE = 1
    socket = await open_socket(await sync_to_async(session_cookie)("ada"))
    try:
        assert await watch(socket, ["board:sales"]) == {"type": "watching", "count": 1}
        for _ in range(3):
            await socket.send_to(text_data='{"type":"ping"}')
            assert await socket.receive_json_from(timeout=5) == {"type": "pong"}

        for _ in range(3):
            await socket.send_to(text_data='{"type":"ping"}')
            refused = await socket.receive_json_from(timeout=5)
            assert refused["type"] == "error"
            assert refused["refused"] == "ping"
            assert (
                refused["error"]
                == "too many ping messages: at most 3 a minute; this one is ignored"
            )
            assert 1 <= refused["retry_after"] <= 60

        # The flood cost the socket nothing else: what it watches still arrives, in order.
        await sync_to_async(live.publish)("board:sales", {"n": 1})
        await sync_to_async(live.publish)("board:sales", {"n": 2})
        assert await socket.receive_json_from(timeout=5) == {"n": 1}
        assert await socket.receive_json_from(timeout=5) == {"n": 2}
        # Nor its watch messages, which have a budget of their own (one, spent above).
        refused_watch = await watch(socket, ["board:support"])
        assert refused_watch["refused"] == "watch"
        assert await socket.receive_nothing(timeout=0.2)
    finally:
        await socket.disconnect()


async def test_a_ping_flood_does_not_spend_the_watch_messages(settings: SettingsWrapper) -> None:
    settings.LIVE_PINGS_PER_MINUTE = 2
    settings.LIVE_WATCH_MESSAGES_PER_MINUTE = 3
    socket = await open_socket(await sync_to_async(session_cookie)("ada"))
    try:
        for _ in range(4):
            await socket.send_to(text_data='{"type":"ping"}')
            await socket.receive_json_from(timeout=5)
        assert await watch(socket, ["board:sales"]) == {"type": "watching", "count": 1}
        await sync_to_async(live.publish)("board:sales", {"n": 1})
        assert await socket.receive_json_from(timeout=5) == {"n": 1}
    finally:
        await socket.disconnect()


async def test_a_socket_that_keeps_flooding_pings_is_closed(settings: SettingsWrapper) -> None:
    settings.LIVE_PINGS_PER_MINUTE = 2
    socket = await open_socket(await sync_to_async(session_cookie)("ada"))
    try:
        replies = []
        for _ in range(4):
            await socket.send_to(text_data='{"type":"ping"}')
            replies.append((await socket.receive_json_from(timeout=5))["type"])
        assert replies == ["pong", "pong", "error", "error"]
        await socket.send_to(text_data='{"type":"ping"}')
        assert await socket.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": CLOSE_FLOODING,
            "reason": "too many messages",
        }
    finally:
        await socket.disconnect()
