"""What the collector makes of odd records and of notifications that are not Graph's."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from callrecords import handlers, services
from callrecords.models import CallEndpoint, CallRecord, CallStream
from comms_portal.graph import InvalidResponse
from comms_portal.graph.callrecords import CallRecord as GraphCallRecord
from comms_portal.graph.models import parse_model
from comms_portal.notifications import drain, inbox
from comms_portal.notifications.models import Subscription
from comms_portal.redis_client import get_redis
from tests.presence.engine_fixtures import enqueued  # noqa: F401  (fixture)
from tests.support.examples import load_example

pytestmark = pytest.mark.django_db(transaction=True)
RECORD_ID = "2f1a1100-0000-4000-8000-00000000aa01"
SUBSCRIPTION_ID = "5b3f0000-0000-4000-8000-00000000bb01"


def parsed(document: dict[str, Any]) -> GraphCallRecord:
    return parse_model(GraphCallRecord, document, what="call record")


def test_the_documented_example_is_stored_with_what_it_has() -> None:
    document = load_example("callrecords-get-expand-sessions-segments.response.json")["response"]

    report = services.store_records([parsed(document)])

    assert report.created == 1
    call = CallRecord.objects.get(graph_id="e523d2ed-2966-4b6b-925b-754a88034cc5")
    assert call.call_type == "peerToPeer" and call.organizer_name == "Abbie Wilkins"
    [stream] = CallStream.objects.filter(call=call)
    # Only the jitter is reported (16 ms), which is under CQD's 30 ms: good.
    assert (stream.jitter_ms, stream.mos_degradation, stream.verdict) == (16.0, None, "good")
    assert stream.person_name == "Abbie Wilkins" and stream.subnet == "10.150.0.0"
    caller = CallEndpoint.objects.get(pk=stream.sender_id)
    assert caller.platform == "android" and caller.product_family == "skypeForBusiness"


def test_unknown_enumeration_values_and_missing_parts_are_stored() -> None:
    start = timezone.now() - timedelta(hours=1)
    document = {
        "id": RECORD_ID,
        "version": 1,
        "type": "unknownFutureValue",
        "modalities": ["audio", "unknownFutureValue"],
        "startDateTime": start.isoformat(),
        "endDateTime": (start + timedelta(minutes=5)).isoformat(),
        "sessions": [
            {
                "id": "s1",
                "startDateTime": start.isoformat(),
                "endDateTime": (start + timedelta(minutes=5)).isoformat(),
                "caller": {"@odata.type": "#microsoft.graph.callRecords.participantEndpoint"},
                "segments": [
                    {
                        "id": "g1",
                        "startDateTime": start.isoformat(),
                        "endDateTime": (start + timedelta(minutes=5)).isoformat(),
                        "media": [
                            {
                                "label": "main-audio",
                                "callerNetwork": {
                                    "connectionType": "unknownFutureValue",
                                    "wifiBand": "unknownFutureValue",
                                },
                                "streams": [{"streamDirection": "unknownFutureValue"}],
                            },
                            {"label": "data"},
                        ],
                    }
                ],
            },
            {
                "id": "s2",
                "startDateTime": start.isoformat(),
                "endDateTime": start.isoformat(),
            },
        ],
    }

    assert services.store_records([parsed(document)]).created == 1

    call = CallRecord.objects.get(graph_id=RECORD_ID)
    assert call.call_type == "unknownFutureValue" and call.organizer_id == ""
    [stream] = CallStream.objects.filter(call=call)
    assert stream.verdict == "unclassified" and stream.network == "unknown"
    assert call.streams_classified == 0 and call.streams_poor == 0


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param({"version": 1}, id="no-id"),
        pytest.param({"id": RECORD_ID, "version": "two"}, id="version-not-a-number"),
        pytest.param({"id": RECORD_ID, "version": 1, "startDateTime": "yesterday"}, id="bad-time"),
    ],
)
def test_records_against_the_documentation_are_refused(broken: dict[str, Any]) -> None:
    document = {
        "startDateTime": "2026-12-01T10:00:00Z",
        "endDateTime": "2026-12-01T10:05:00Z",
        **broken,
    }
    with pytest.raises(InvalidResponse):
        parsed(document)


@pytest.fixture
def held_subscription() -> Subscription:
    get_redis().delete(*get_redis().keys("portal:notifications:*") or ["none"])
    return Subscription.objects.create(
        kind=handlers.KIND,
        graph_id=SUBSCRIPTION_ID,
        client_state="the-real-client-state",
        resource=handlers.RESOURCE,
        change_type=handlers.CHANGE_TYPE,
        expires_at=timezone.now() + timedelta(days=2),
    )


def body(client_state: str, resource: str, resource_id: str) -> str:
    return json.dumps(
        {
            "value": [
                {
                    "subscriptionId": SUBSCRIPTION_ID,
                    "clientState": client_state,
                    "changeType": "created",
                    "resource": resource,
                    "subscriptionExpirationDateTime": "2099-01-01T00:00:00Z",
                    "tenantId": "00000000-0000-4000-8000-000000000001",
                    "resourceData": {
                        "@odata.type": "#microsoft.graph.callrecord",
                        "@odata.id": resource,
                        "id": resource_id,
                    },
                }
            ]
        }
    )


def collected(captured: list[tuple[str, list[Any]]]) -> list[str]:
    return [str(args[0]) for name, args in captured if name == "callrecords.collect_record"]


def test_a_genuine_notification_queues_one_read(
    held_subscription: Subscription,
    enqueued: list[tuple[str, list[Any]]],  # noqa: F811
) -> None:
    genuine = body("the-real-client-state", f"communications/callRecords/{RECORD_ID}", RECORD_ID)
    report = drain.process_bodies([genuine, genuine])
    assert report.by_kind == {"callrecords": 2} and report.changed == 1
    assert collected(enqueued) == [RECORD_ID]


@pytest.mark.parametrize(
    ("client_state", "resource", "resource_id"),
    [
        pytest.param(
            "guessed", f"communications/callRecords/{RECORD_ID}", RECORD_ID, id="clientState"
        ),
        pytest.param("the-real-client-state", "users/someone", RECORD_ID, id="not-a-call-record"),
        pytest.param(
            "the-real-client-state",
            f"communications/callRecords/{RECORD_ID}",
            "another-id",
            id="ids-disagree",
        ),
        pytest.param(
            "the-real-client-state",
            "communications/callRecords/../../users",
            RECORD_ID,
            id="path-tricks",
        ),
    ],
)
def test_forged_notifications_queue_nothing(
    held_subscription: Subscription,
    enqueued: list[tuple[str, list[Any]]],  # noqa: F811
    client_state: str,
    resource: str,
    resource_id: str,
) -> None:
    forged = body(client_state, resource, resource_id)
    response = Client().post(
        reverse("notifications:intake", kwargs={"kind": handlers.KIND}),
        forged,
        content_type="application/json",
    )
    assert response.status_code == 202
    drain.process_bodies(inbox.bodies_waiting() or [forged])
    assert collected(enqueued) == []
