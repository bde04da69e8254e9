"""Many open pages share their process's Redis connections instead of one each."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import User
from comms_portal.redis_client import get_redis
from tests.support.live import open_socket, signed_in_browser, watch

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio(loop_scope="session")]
PAGES = 60


def _clients_connected() -> int:
    return len(get_redis().client_list())


async def test_sixty_open_pages_do_not_each_hold_a_redis_connection(
    settings: SettingsWrapper,
) -> None:
    settings.LIVE_MAX_SOCKETS_PER_PERSON = PAGES
    ada = await sync_to_async(User.objects.create)(username="ada", display_name="Ada Lovelace")
    cookies = [(await sync_to_async(signed_in_browser)(ada))[1] for _ in range(3)]
    before = await sync_to_async(_clients_connected)()

    # As many pages as three browsers open: each reads its session (through the cache) on
    # connect and again on every watch message.
    pages = [await open_socket(cookies[n % len(cookies)]) for n in range(PAGES)]
    for page in pages:
        assert (await watch(page, ["presence:ada-lovelace"]))["type"] == "watching"
    during = await sync_to_async(_clients_connected)()
    for page in pages:
        await page.disconnect()

    # Before, each page's session read opened a pool of its own and kept its connection
    # while the page stayed open; ten thousand pages ran Redis out of clients.
    assert during - before < PAGES // 4, (before, during)
