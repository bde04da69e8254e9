"""A drain that loses Redis mid-batch waits for it and finishes the batch it had taken."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.db import connection
from pytest_django.fixtures import Settings as SettingsWrapper

from comms_portal.notifications import inbox, tasks
from comms_portal.notifications.registry import Change
from comms_portal.redis_client import get_redis
from tests.notifications.kinds import app_only_kind
from tests.notifications.test_drain_faults import KIND, queue, widget_body, widget_subscription
from tests.presence.engine_fixtures import clean_presence  # noqa: F401  (fixture)
from tests.soak.services import DatabaseProxy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_presence")]
# More than one batch, so that bodies still wait in the inbox when Redis goes.
BODIES = inbox.BATCH_SIZE + 50


@pytest.fixture
def redis_proxy(settings: SettingsWrapper) -> Iterator[DatabaseProxy]:
    """Point the portal at Redis through a TCP proxy the test can take down and bring back.

    Down, it cuts every open connection and refuses new ones, as a Redis restart does, while
    the server keeps its data.
    """
    parts = urlsplit(settings.REDIS_URL)
    proxy = DatabaseProxy(upstream=(parts.hostname or "127.0.0.1", parts.port or 6379))
    proxy.up()
    settings.REDIS_URL = parts._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()
    try:
        yield proxy
    finally:
        proxy.down()


def test_a_drain_that_loses_redis_mid_batch_finishes_its_batch_once_redis_is_back(
    redis_proxy: DatabaseProxy, caplog: pytest.LogCaptureFixture
) -> None:
    redis_away = threading.Event()

    def take_redis_away(change: Change) -> bool:
        # Redis goes while the first batch is in the handler's hands, before the drain has
        # marked it done.
        if not redis_away.is_set():
            redis_away.set()
            redis_proxy.down()
        return False

    widget_subscription()
    resources = [f"widgets/{number}" for number in range(BODIES)]
    queue(*(widget_body(resource) for resource in resources))
    errors: list[BaseException] = []

    def run_drain() -> None:
        try:
            tasks.drain_notifications.apply(task_id="drain-redis-lost", throw=True)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    with (
        app_only_kind(KIND, rich=False, refuse=take_redis_away) as widgets,
        caplog.at_level(logging.WARNING, logger=tasks.__name__),
    ):
        drainer = threading.Thread(target=run_drain)
        drainer.start()
        try:
            # Redis comes back only once the drain has found it gone and waits for it.
            while not any("drain lost Redis" in r.getMessage() for r in caplog.records):
                assert drainer.is_alive(), errors
                drainer.join(0.1)
        finally:
            redis_proxy.up()
            drainer.join()

    assert errors == []
    # Every body was handled; the batch in hand when Redis went was kept and handled again
    # (its changes are given twice, never missing).
    handled = Counter(change.resource for change in widgets)
    assert set(handled) == set(resources)
    assert Counter(handled.values()) == {2: inbox.BATCH_SIZE, 1: BODIES - inbox.BATCH_SIZE}
    # Nothing waits, stays taken or was set aside.
    redis = get_redis()
    assert inbox.waiting() == 0
    assert redis.llen(inbox.TAKEN_KEY_PREFIX + "drain-redis-lost") == 0
    assert redis.scard(inbox.DRAINERS_KEY) == 0
    assert inbox.buried() == []
