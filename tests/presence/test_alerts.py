"""'Tell me when available': one-shot alerts fire once, on the real store and Redis pub/sub."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.db import connection

from comms_portal.live import user_topic
from presence import alerts, store
from presence.models import AvailabilityAlert
from presence.services import record_presence
from tests.presence.wall_cast import Directory, directory_fixture, presence  # noqa: F401  (fixture)
from tests.support.live import TopicInbox


@pytest.fixture
def inbox(directory: Directory) -> Iterator[TopicInbox]:
    box = TopicInbox(user_topic(directory.viewer.pk))
    yield box
    box.close()


@pytest.mark.django_db(transaction=True)
def test_alert_fires_when_the_person_becomes_available(
    directory: Directory,
    inbox: TopicInbox,
) -> None:
    alerts.request_alert(user=directory.viewer, person=directory.alan)
    record_presence([presence(directory.alan, "Busy", "InACall")])
    assert inbox.messages(wait=0.3) == []

    record_presence([presence(directory.alan, "Available", "Available")])

    notices = inbox.messages()
    assert notices == [
        {
            "type": "notice",
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
    inbox: TopicInbox,
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
    inbox: TopicInbox,
) -> None:
    alerts.request_alert(user=directory.viewer, person=directory.alan)
    record_presence([presence(directory.alan, "Busy", "InACall")])
    record_presence([presence(directory.alan, "DoNotDisturb", "Presenting")])
    record_presence([presence(directory.hedy, "Available", "Available")])
    assert inbox.messages(wait=0.3) == []
    assert AvailabilityAlert.objects.get().fired_at is None


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_alert_never_fires(directory: Directory, inbox: TopicInbox) -> None:
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
    inbox: TopicInbox,
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
    inbox: TopicInbox,
) -> None:
    # The first reading of a person already Available counts: they are free now.
    store.forget([directory.katherine.graph_id])
    alerts.request_alert(user=directory.viewer, person=directory.katherine)
    record_presence([presence(directory.katherine, "Available", "Available")])
    assert [m["notice"]["person_id"] for m in inbox.messages()] == [directory.katherine.graph_id]
