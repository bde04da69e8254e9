"""A live socket lives no longer than its session: sign-out, expiry and deletion close it."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import caches
from django.utils import timezone

from accounts.models import SignedInSession, User
from comms_portal import live
from comms_portal.live.consumer import CLOSE_UNAUTHENTICATED
from comms_portal.live.control import session_fingerprint
from comms_portal.live.topics import user_topic
from comms_portal.redis_client import get_redis
from tests.support.live import (
    TopicInbox,
    live_fanout,
    open_socket,
    session_key_of,
    signed_in_browser,
    watch,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.usefixtures(live_fanout.__name__),
]


def closed_as(reason: str) -> dict[str, Any]:
    return {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED, "reason": reason}


def session_store(key: str) -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)


def _ada() -> User:
    return User.objects.create(username="ada", display_name="Ada Lovelace")


async def test_signing_out_closes_that_sessions_sockets_at_once_and_no_other() -> None:
    ada = await sync_to_async(_ada)()
    laptop, laptop_cookie = await sync_to_async(signed_in_browser)(ada)
    _phone, phone_cookie = await sync_to_async(signed_in_browser)(ada)
    first_tab = await open_socket(laptop_cookie)
    second_tab = await open_socket(laptop_cookie)
    phone = await open_socket(phone_cookie)
    inbox = await sync_to_async(TopicInbox)(user_topic(ada.pk))
    try:
        for socket in (first_tab, second_tab, phone):
            assert await watch(socket, []) == {"type": "watching", "count": 0}

        signed_out = await sync_to_async(laptop.post)("/accounts/signout/")
        assert signed_out.status_code == 302

        for tab in (first_tab, second_tab):
            assert await tab.receive_output(timeout=5) == closed_as("signed-out")
        # The phone's session goes on: it was told nothing, and still gets Ada's notices.
        assert await phone.receive_nothing(timeout=0.5)
        await sync_to_async(live.notify_user)(ada.pk, {"message": "still here"})
        assert await phone.receive_json_from(timeout=5) == {
            "type": "notice",
            "notice": {"message": "still here"},
        }
        # The order named the session by a fingerprint; its key never left the server.
        laptop_key = session_key_of(laptop_cookie)
        (order, _notice) = await sync_to_async(inbox.messages)()
        assert order == {
            "type": "live.control",
            "close": "signed-out",
            "session": session_fingerprint(laptop_key),
        }
        assert laptop_key not in str(order)
        assert not await sync_to_async(
            SignedInSession.objects.filter(session_key=laptop_key).exists
        )()
    finally:
        inbox.close()
        for socket in (first_tab, second_tab, phone):
            await socket.disconnect()


async def test_a_socket_closes_when_its_session_expires() -> None:
    ada = await sync_to_async(_ada)()
    _browser, cookie = await sync_to_async(signed_in_browser)(ada)

    def expire_soon() -> None:
        store = session_store(session_key_of(cookie))
        store.load()
        store.set_expiry(timezone.now() + timedelta(seconds=3))
        store.save()

    await sync_to_async(expire_soon)()
    socket = await open_socket(cookie)
    try:
        assert await watch(socket, []) == {"type": "watching", "count": 0}
        assert await socket.receive_output(timeout=10) == closed_as("expired")
    finally:
        await socket.disconnect()


async def test_a_sign_in_lasts_its_fixed_time_and_the_socket_knows_it() -> None:
    ada = await sync_to_async(_ada)()
    before = timezone.now()
    _browser, cookie = await sync_to_async(signed_in_browser)(ada)
    record = await sync_to_async(SignedInSession.objects.get)(session_key=session_key_of(cookie))
    lifetime = timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert before + lifetime <= record.expires_at <= timezone.now() + lifetime
    stored = await sync_to_async(session_store(session_key_of(cookie)).get_expiry_date)()
    assert stored == record.expires_at


async def test_a_socket_whose_session_is_gone_closes_at_its_next_watch() -> None:
    ada = await sync_to_async(_ada)()
    _browser, cookie = await sync_to_async(signed_in_browser)(ada)
    socket = await open_socket(cookie)
    try:
        assert await watch(socket, []) == {"type": "watching", "count": 0}
        # Deleted without a word to the socket, as when the sign-out notice was lost.
        await sync_to_async(session_store(session_key_of(cookie)).delete)()
        await socket.send_json_to({"type": "watch", "topics": []})
        assert await socket.receive_output(timeout=5) == closed_as("signed-out")
    finally:
        await socket.disconnect()


async def test_a_session_missing_from_the_cache_is_read_from_the_database_and_cached() -> None:
    ada = await sync_to_async(_ada)()
    _browser, cookie = await sync_to_async(signed_in_browser)(ada)
    store = session_store(session_key_of(cookie))
    cache = caches[settings.SESSION_CACHE_ALIAS]
    cached = cache.make_and_validate_key(store.cache_key)
    socket = await open_socket(cookie)
    try:
        # Evicted by Redis, say: the socket is not signed out for it.
        assert get_redis().delete(cached) == 1
        assert await watch(socket, []) == {"type": "watching", "count": 0}
        assert get_redis().exists(cached) == 1
    finally:
        await socket.disconnect()


async def test_signing_out_closes_nobody_elses_sockets() -> None:
    ada = await sync_to_async(_ada)()
    grace = await sync_to_async(User.objects.create)(username="grace", display_name="Grace")
    _ada_browser, ada_cookie = await sync_to_async(signed_in_browser)(ada)
    grace_browser, grace_cookie = await sync_to_async(signed_in_browser)(grace)
    ada_socket = await open_socket(ada_cookie)
    grace_socket = await open_socket(grace_cookie)
    try:
        await watch(ada_socket, [])
        await watch(grace_socket, [])
        await sync_to_async(grace_browser.post)("/accounts/signout/")
        assert await grace_socket.receive_output(timeout=5) == closed_as("signed-out")
        assert await ada_socket.receive_nothing(timeout=0.5)
        assert await watch(ada_socket, []) == {"type": "watching", "count": 0}
    finally:
        await ada_socket.disconnect()
        await grace_socket.disconnect()
