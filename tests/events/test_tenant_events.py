"""Events planned in Teams itself reach the portal through the tenant's "created" feed."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from comms_portal.graph import virtual_events as api
from comms_portal.notifications import drain
from comms_portal.notifications.models import Subscription
from events import services, tenant_events
from events.models import VirtualEvent
from tests.events.test_console_flow import roomy_write_budget
from tests.support.cast import MEGAN
from tests.support.examples import load_example
from tests.support.portal_signin import sign_in_person

pytestmark = pytest.mark.django_db
__all__ = ["roomy_write_budget"]


def created_body(subscription: Subscription, path: str, client_state: str | None = None) -> str:
    item = dict(
        load_example("notification-virtualevent-event-created.payload.json")["request"]["value"][0]
    )
    item.update(
        subscriptionId=subscription.graph_id,
        clientState=client_state or subscription.client_state,
        resourceData={
            "@odata.id": path,
            "@odata.type": "#microsoft.graph.virtualEvent",
            "id": path,
        },
    )
    return json.dumps({"value": [item]})


def test_an_event_made_in_teams_appears_once_and_forgeries_do_nothing() -> None:
    megan = sign_in_person(MEGAN, scopes=["User.Read", "VirtualEvent.ReadWrite"])
    start = timezone.now() + timedelta(days=4)
    made = api.create_event(
        services.client_as(megan),
        "townhalls",
        {
            "displayName": "All hands from Teams",
            "startDateTime": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "endDateTime": {
                "dateTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                "timeZone": "UTC",
            },
            "audience": "organization",
        },
    )
    subscription = Subscription.objects.create(
        kind=tenant_events.KIND,
        graph_id=str(uuid.uuid4()),
        client_state="events-secret",
        resource=tenant_events.RESOURCE,
        change_type="created",
        scope=["tenant"],
        expires_at=timezone.now() + timedelta(hours=20),
    )
    path = f"solutions/virtualEvents/townhalls/{made['id']}/"
    forged = drain.process_bodies([created_body(subscription, path, client_state="guess")])
    assert forged.dropped == 1 and not VirtualEvent.objects.filter(graph_id=made["id"]).exists()
    first = drain.process_bodies([created_body(subscription, path)])
    assert first.changed == 1
    event = VirtualEvent.objects.get(graph_id=made["id"])
    assert (event.kind, event.status, event.title) == ("townhall", "draft", "All hands from Teams")
    assert event.organizer == megan and event.starts_at.replace(second=0) == start.replace(
        second=0, microsecond=0
    )
    replay = drain.process_bodies([created_body(subscription, path)])
    assert replay.changed == 0
    assert VirtualEvent.objects.filter(graph_id=made["id"]).count() == 1
    nonsense = drain.process_bodies([created_body(subscription, "users/someone")])
    assert nonsense.changed == 0 and any("not an event" in r for r in nonsense.reasons)
