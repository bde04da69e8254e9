"""'Tell me when available': one-shot alerts fire once, on the real store and channel layer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
from django.db import connection

from comms_portal import realtime
from presence import alerts, store
from presence.models import AvailabilityAlert
from presence.services import record_presence
from tests.presence.wall_cast import Directory, directory_fixture, presence  # noqa: F401  (fixture)


class Inbox:
    """A channel on the real Redis channel layer that joined one person's notice group.

    It lives on its own event loop in its own thread, because the channel layer binds its
    receive buffers to the loop that first uses them.
    """

    def __init__(self, user_id: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        self.group = realtime.user_group(user_id)
        self.channel: str = self._run(self.layer.new_channel())
        self._run(self.layer.group_add(self.group, self.channel))

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def messages(self, wait: float = 0.5) -> list[dict[str, Any]]:
        """Return everything that arrived, waiting up to ``wait`` seconds for each."""

        async def drain() -> list[dict[str, Any]]:
            received: list[dict[str, Any]] = []
            while True:
                try:
                    received.append(await asyncio.wait_for(self.layer.receive(self.channel), wait))
                except TimeoutError:
                    return received

        result: list[dict[str, Any]] = self._run(drain())
        return result

    def close(self) -> None:
        self._run(self.layer.group_discard(self.group, self.channel))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


@pytest.fixture
def inbox(directory: Directory) -> Iterator[Inbox]:
    box = Inbox(directory.viewer.pk)
    yield box
    box.close()


@pytest.mark.django_db(transaction=True)
def test_alert_fires_when_the_person_becomes_available(
    directory: Directory,
    inbox: Inbox,
) -> None:
    alerts.request_alert(user=directory.viewer, person=directory.alan)
    record_presence([presence(directory.alan, "Busy", "InACall")])
    assert inbox.messages(wait=0.3) == []

    record_presence([presence(directory.alan, "Available", "Available")])

    notices = inbox.messages()
    assert notices == [
        {
            "type": "user.notice",
            "notice": {
                "kind": "available",
                "person_id": directory.alan.graph_id,
                "display_name": "Alan Turing",
                "message": "Alan Turing is available now.",
                "url": f"/people/{directory.alan.graph_id}/",
            },
        }
    ]
    alert = AvailabilityAlert.objects.get()
    assert alert.fired_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_fired_alert_does_not_fire_again(
    directory: Directory,
    inbox: Inbox,
) -> None:
    alerts.request_alert(user=directory.viewer, person=directory.alan)
    record_presence([presence(directory.alan, "Available", "Available")])
    record_presence([presence(directory.alan, "Away", "Away")])
    record_presence([presence(directory.alan, "Available", "Available")])
    assert len(inbox.messages()) == 1
    assert AvailabilityAlert.objects.filter(fired_at__isnull=True).count() == 0


@pytest.mark.django_db(transaction=True)
def test_no_alert_for_other_changes_or_other_people(
    directory: Directory,
    inbox: Inbox,
) -> None:
    alerts.request_alert(user=directory.viewer, person=directory.alan)
    record_presence([presence(directory.alan, "Busy", "InACall")])
    record_presence([presence(directory.alan, "DoNotDisturb", "Presenting")])
    record_presence([presence(directory.hedy, "Available", "Available")])
    assert inbox.messages(wait=0.3) == []
    assert AvailabilityAlert.objects.get().fired_at is None


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_alert_never_fires(directory: Directory, inbox: Inbox) -> None:
    alerts.request_alert(user=directory.viewer, person=directory.alan)
    assert alerts.cancel_alert(user=directory.viewer, person=directory.alan) is True
    assert alerts.cancel_alert(user=directory.viewer, person=directory.alan) is False
    record_presence([presence(directory.alan, "Available", "Available")])
    assert inbox.messages(wait=0.3) == []


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite's in-memory test database locks tables instead of letting writers wait; "
    "the suite's PostgreSQL run exercises this",
)
@pytest.mark.django_db(transaction=True)
def test_an_alert_fires_once_when_several_workers_see_the_same_change(
    directory: Directory,
    inbox: Inbox,
) -> None:
    alerts.request_alert(user=directory.viewer, person=directory.alan)
    alerts.request_alert(user=directory.viewer, person=directory.hedy)
    workers = 6
    start = threading.Barrier(workers)
    fired: list[int] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            fired.append(alerts.fire_alerts([directory.alan.graph_id, directory.hedy.graph_id]))
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()  # each thread has its own database connection

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert sum(fired) == 2
    assert sorted(m["notice"]["person_id"] for m in inbox.messages()) == sorted(
        [directory.alan.graph_id, directory.hedy.graph_id]
    )
    assert AvailabilityAlert.objects.filter(fired_at__isnull=True).count() == 0


@pytest.mark.django_db(transaction=True)
def test_becoming_available_through_polling_fires_too(
    directory: Directory,
    inbox: Inbox,
) -> None:
    # The first reading of a person already Available counts: they are free now.
    store.forget([directory.katherine.graph_id])
    alerts.request_alert(user=directory.viewer, person=directory.katherine)
    record_presence([presence(directory.katherine, "Available", "Available")])
    assert [m["notice"]["person_id"] for m in inbox.messages()] == [directory.katherine.graph_id]
