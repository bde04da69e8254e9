"""What the collector makes of odd records and of notifications that are not Graph's."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from callrecords import handlers, selectors, services
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


def test_values_the_portal_has_never_seen_are_kept_and_counted() -> None:
    # Graph's enumerations grow (evolvable enums): a value added after this portal was written
    # must neither refuse the record nor be mistaken for a known one.
    start = timezone.now() - timedelta(hours=2)
    end = start + timedelta(minutes=20)
    person = {"id": "7d0c0000-0000-4000-8000-0000000000c1", "displayName": "Ines Castro"}
    other = {"id": "7d0c0000-0000-4000-8000-0000000000c2", "displayName": "Rui Prado"}
    document = {
        "id": RECORD_ID,
        "version": 1,
        "type": "broadcastCall",
        "modalities": ["audio", "holographicPresence"],
        "startDateTime": start.isoformat(),
        "endDateTime": end.isoformat(),
        "organizer_v2": {"id": person["id"], "identity": {"user": person}},
        "participants_v2": [
            {"id": person["id"], "identity": {"user": person}},
            {"id": other["id"], "identity": {"spaceTraveller": other}},
        ],
        "sessions": [
            {
                "id": "s1",
                "modalities": ["audio", "holographicPresence"],
                "startDateTime": start.isoformat(),
                "endDateTime": end.isoformat(),
                "segments": [
                    {
                        "id": "g1",
                        "startDateTime": start.isoformat(),
                        "endDateTime": end.isoformat(),
                        "caller": {
                            "@odata.type": "#microsoft.graph.callRecords.orbitalEndpoint",
                            "userAgent": {"platform": "visionOS", "productFamily": "teamsSpatial"},
                            "associatedIdentity": person,
                            "feedback": {"rating": "sublime"},
                        },
                        "media": [
                            {
                                "label": "main-audio",
                                "callerNetwork": {
                                    "connectionType": "satellite",
                                    "wifiBand": "frequency70GHz",
                                    "subnet": "10.99.0.0",
                                },
                                "streams": [
                                    {
                                        "streamDirection": "callerToCallee",
                                        "averagePacketLossRate": 0.15,
                                        "averageJitter": "PT0.012S",
                                    },
                                    {"streamDirection": "sidewaysToNowhere"},
                                ],
                            },
                            {"label": "main-hologram", "streams": [{"streamDirection": "x"}]},
                        ],
                    }
                ],
            }
        ],
    }

    assert services.store_records([parsed(document)]).created == 1

    call = CallRecord.objects.get(graph_id=RECORD_ID)
    assert call.call_type == "broadcastCall" and call.modalities == "audio,holographicPresence"
    assert (call.streams_classified, call.streams_poor) == (1, 1)
    caller = CallEndpoint.objects.get(call=call, person_id=person["id"])
    assert not caller.is_service and caller.network == "unknown"
    assert (caller.platform, caller.feedback) == ("visionOS", "sublime")
    assert sorted(CallStream.objects.filter(call=call).values_list("modality", flat=True)) == [
        "audio",
        "audio",
        "other",
    ]
    # The dashboard counts the poor stream under an unknown network and the new client.
    filters = selectors.Filters(since=start - timedelta(days=1), until=end + timedelta(days=1))
    [network] = selectors.poor_rate_by(filters, "network")
    assert (network.key, network.label, network.classified, network.poor) == (
        "unknown",
        "Unknown",
        1,
        1,
    )
    [client] = selectors.poor_rate_by(filters, "client")
    assert client.poor == 1 and "visionOS" in client.label
    # The person's own view names the call plainly and blames what the figures show.
    [mine] = selectors.my_calls(person["id"], since=start - timedelta(days=1)).calls
    assert (mine.kind, mine.verdict) == ("Call", "poor")
    assert "packet loss 15 %" in mine.detail


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
    return [
        str(one)
        for name, args in captured
        if name == "callrecords.collect_records"
        for one in args[0]
    ]


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
