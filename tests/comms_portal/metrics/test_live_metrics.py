"""Open sockets, pushes and deliveries of the live channel, summed over the ASGI processes."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import sync_to_async

from accounts.models import User
from comms_portal import live
from comms_portal.metrics.counters import SOCKETS_KEY
from comms_portal.redis_client import get_redis
from tests.comms_portal.metrics.scrape import Scrape, scrape
from tests.support.live import live_fanout, open_socket, session_cookie, watch

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.usefixtures(live_fanout.__name__),
]
SOCKETS = "comms_portal_live_sockets"
PROCESSES = "comms_portal_live_processes"
PUBLISHED = "comms_portal_live_pushes_published_total"
DELIVERED = "comms_portal_live_deliveries_total"


async def _scrape() -> Scrape:
    return await sync_to_async(scrape)()


async def test_sockets_pushes_and_deliveries_are_counted() -> None:
    before = await _scrape()
    cookie = await sync_to_async(session_cookie)("margaret")
    margaret = await User.objects.aget(username="margaret")
    # Two pages of one person: one publish, two deliveries.
    pages = [await open_socket(cookie), await open_socket(cookie)]
    for page in pages:
        assert (await watch(page, []))["type"] == "watching"

    await sync_to_async(live.notify_user)(margaret.pk, {"text": "Grace is available"})
    for page in pages:
        assert (await page.receive_json_from(timeout=5))["type"] == "notice"
    during = await _scrape()
    for page in pages:
        await page.disconnect()
    after = await _scrape()

    assert during.value(SOCKETS) - before.value(SOCKETS) == 2
    assert during.value(PROCESSES) >= 1
    assert during.value(PUBLISHED) - before.value(PUBLISHED) == 1
    assert during.value(DELIVERED) - before.value(DELIVERED) == 2
    assert after.value(SOCKETS) == before.value(SOCKETS)


async def test_other_processes_reports_add_up_and_silent_ones_are_dropped() -> None:
    redis = get_redis()
    own = await _scrape()
    now = time.time()
    redis.hset(
        SOCKETS_KEY,
        mapping={
            "web-2.example:4242": f"7 {now:.3f}",
            # A process killed a minute ago, and a report nobody can read.
            "web-3.example:999": f"50 {now - 60:.3f}",
            "web-4.example:1": "nonsense",
        },
    )

    shown = await _scrape()

    assert shown.value(SOCKETS) == own.value(SOCKETS) + 7
    assert shown.value(PROCESSES) == own.value(PROCESSES) + 1
    left = {field.decode() for field in redis.hkeys(SOCKETS_KEY)}
    assert "web-3.example:999" not in left and "web-4.example:1" not in left
    assert "web-2.example:4242" in left
    redis.hdel(SOCKETS_KEY, "web-2.example:4242")
