"""Registration notifications through the real pipeline: stored once, told live once, and
forged or replayed notifications change nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from comms_portal.notifications import drain
from comms_portal.notifications.models import Subscription
from comms_portal.redis_client import get_redis
from events import handlers, services, tasks
from events.models import Registration, VirtualEvent
from events.topics import EVENT, event_topic
from tests.events.test_console_flow import create, roomy_write_budget, signed_in
from tests.support.cast import MEGAN, TOMAS
from tests.support.examples import load_example
from tests.support.live import TopicInbox

pytestmark = pytest.mark.django_db
__all__ = ["roomy_write_budget"]


@pytest.fixture
def registered() -> Iterator[tuple[VirtualEvent, Registration, Subscription]]:
    admin, _ = signed_in(MEGAN)
    event = create(admin, q1_text="", capacity="")
    assert admin.post(f"/events/console/{event.pk}/publish").status_code == 302
    event.refresh_from_db()
    tomas_client, tomas = signed_in(TOMAS)
    assert tomas_client.post(f"/events/{event.pk}/register", {}).status_code == 302
    registration = Registration.objects.get(event=event, user_graph_id=tomas.object_id)
    subscription = Subscription.objects.create(
        kind=handlers.KIND,
        graph_id=str(uuid.uuid4()),
        client_state="registrations-secret",
        resource=handlers.resource_of(event),
        change_type="created,updated",
        scope=[event.graph_id],
        expires_at=timezone.now() + timedelta(hours=20),
    )
    yield event, registration, subscription


def body_for(
    subscription: Subscription,
    webinar_id: str,
    registration_id: str,
    *,
    client_state: str | None = None,
) -> str:
    notification = load_example("notification-virtualevent-registration-created.payload.json")
    item = dict(notification["request"]["value"][0])
    resource = f"solutions/virtualEvents/webinars/{webinar_id}/registrations"
    item.update(
        subscriptionId=subscription.graph_id,
        clientState=client_state or subscription.client_state,
        resource=resource,
        resourceData={
            "@odata.id": f"{resource}/{registration_id}",
            "@odata.type": "#microsoft.graph.virtualEventRegistration",
            "id": f"{resource}/{registration_id}",
        },
    )
    return json.dumps({"value": [item]})


def test_a_notification_stores_the_registration_and_tells_the_console_once(
    registered: tuple[VirtualEvent, Registration, Subscription],
) -> None:
    event, registration, subscription = registered
    graph_id = registration.graph_id
    registration.delete()
    inbox = TopicInbox(event_topic(event.pk))
    try:
        body = body_for(subscription, event.graph_id, graph_id)
        first = drain.process_bodies([body])
        assert first.by_kind == {handlers.KIND: 1} and first.changed == 1
        stored = Registration.objects.get(event=event, graph_id=graph_id)
        assert stored.status == "registered"
        (message,) = inbox.messages()
        assert message["type"] == "registration"
        assert message["registration"]["id"] == graph_id
        assert message["counts"]["registered"] == 1
        # The same notification again (Graph retries, or someone replays it): nothing new.
        again = drain.process_bodies([body])
        assert again.changed == 0
        assert Registration.objects.filter(event=event).count() == 1
        assert inbox.messages() == []
    finally:
        inbox.close()


def test_forged_notifications_change_nothing(
    registered: tuple[VirtualEvent, Registration, Subscription],
) -> None:
    event, registration, subscription = registered
    registration.delete()
    wrong_secret = body_for(
        subscription, event.graph_id, registration.graph_id, client_state="guessed"
    )
    report = drain.process_bodies([wrong_secret])
    assert report.by_kind == {} and report.dropped == 1
    other_webinar = body_for(subscription, f"{uuid.uuid4()}@{uuid.uuid4()}", registration.graph_id)
    report = drain.process_bodies([other_webinar])
    assert report.changed == 0 and any("outside its subscription" in r for r in report.reasons)
    unknown = body_for(subscription, event.graph_id, str(uuid.uuid4()))
    report = drain.process_bodies([unknown])
    assert report.changed == 0
    assert not Registration.objects.filter(event=event).exists()


def test_the_polling_safety_net_reads_what_notifications_missed(
    registered: tuple[VirtualEvent, Registration, Subscription],
) -> None:
    event, registration, _ = registered
    registration.delete()
    assert services.sync_registrations(event) == 1
    assert services.sync_registrations(event) == 0
    assert Registration.objects.filter(event=event).count() == 1
    Registration.objects.filter(event=event).delete()
    # The console's poll asks Graph again, at most once a minute per event.
    get_redis().delete(f"{tasks.RESYNC_KEY}{event.pk}")
    assert tasks.resync_soon(event) is True
    assert tasks.resync_soon(event) is False
    tasks.sync_registrations(event.pk)
    assert Registration.objects.filter(event=event).count() == 1


def test_only_those_who_run_an_event_may_watch_its_topic(client: Client) -> None:
    from accounts.models import User

    start = timezone.now() + timedelta(days=1)
    event = VirtualEvent.objects.create(
        graph_id="w@t",
        kind="webinar",
        title="Topic test",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        audience="organization",
        organizer_graph_id="o-1",
        co_organizer_ids=["co-1"],
    )
    employee = User.objects.create(username="e", display_name="E", object_id="x-1")
    co = User.objects.create(username="c", display_name="C", object_id="co-1")
    admin = User.objects.create(username="a", display_name="A", is_portal_admin=True)
    key = str(event.pk)
    assert set(EVENT.refused_keys(employee, [key, "999999"])) == {key, "999999"}
    assert set(EVENT.refused_keys(co, [key])) == set()
    assert set(EVENT.refused_keys(admin, [key])) == set()
    # And the console's URLs: the co-organizer reaches them, the employee does not.
    client.force_login(co)
    assert client.get(f"/events/console/{event.pk}/").status_code == 200
    assert client.get(f"/events/console/{event.pk}/registrations").status_code == 200
    assert client.get("/events/console/").status_code == 200
    client.force_login(employee)
    for path in ("", "registrations", "registrations.csv", "attendance/", "edit/", "cancel/"):
        assert client.get(f"/events/console/{event.pk}/{path}").status_code == 403, path
    assert client.post(f"/events/console/{event.pk}/publish").status_code == 403
