"""Each participant's verdict on a call is reached when the record is stored, and kept current."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from callrecords import quality, selectors, services
from callrecords.models import CallParticipant, CallRecord, StreamRollup
from callrecords.storage import JudgedStream, judge_for
from comms_portal.graph.callrecords import CallRecord as GraphCallRecord
from comms_portal.graph.models import parse_model

pytestmark = pytest.mark.django_db
RECORD_ID = "2f1a1100-0000-4000-8000-00000000cc01"
ALEX = "0a1e0000-0000-4000-8000-0000000000a1"
BEA = "0a1e0000-0000-4000-8000-0000000000b2"


def endpoint(person: str, name: str) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.callRecords.participantEndpoint",
        "userAgent": {
            "@odata.type": "#microsoft.graph.callRecords.clientUserAgent",
            "platform": "windows",
            "productFamily": "teams",
        },
        "associatedIdentity": {"id": person, "displayName": name},
    }


def record(
    version: int, *, alex_jitter: str, alex_signal: int, graph_id: str = RECORD_ID
) -> GraphCallRecord:
    """A call of Alex (calling, on 5 GHz Wi-Fi) and Bea (wired); Alex's audio as given."""
    start = timezone.now() - timedelta(hours=1)
    end = start + timedelta(minutes=5)
    document = {
        "id": graph_id,
        "version": version,
        "type": "peerToPeer",
        "modalities": ["audio"],
        "startDateTime": start.isoformat(),
        "endDateTime": end.isoformat(),
        "participants_v2": [
            {"id": ALEX, "identity": {"user": {"id": ALEX, "displayName": "Alex Kim"}}},
            {"id": BEA, "identity": {"user": {"id": BEA, "displayName": "Bea Lund"}}},
        ],
        "sessions": [
            {
                "id": "s1",
                "startDateTime": start.isoformat(),
                "endDateTime": end.isoformat(),
                "caller": endpoint(ALEX, "Alex Kim"),
                "callee": endpoint(BEA, "Bea Lund"),
                "segments": [
                    {
                        "id": "g1",
                        "startDateTime": start.isoformat(),
                        "endDateTime": end.isoformat(),
                        "media": [
                            {
                                "label": "main-audio",
                                "callerNetwork": {
                                    "connectionType": "wifi",
                                    "wifiBand": "frequency50GHz",
                                    "wifiSignalStrength": alex_signal,
                                },
                                "calleeNetwork": {"connectionType": "wired"},
                                "streams": [
                                    {
                                        "streamDirection": "callerToCallee",
                                        "averageJitter": alex_jitter,
                                    },
                                    {
                                        "streamDirection": "calleeToCaller",
                                        "averageJitter": "PT0.008S",
                                    },
                                ],
                            }
                        ],
                    }
                ],
            }
        ],
    }
    return parse_model(GraphCallRecord, document, what="call record")


def verdicts() -> dict[str, tuple[str, str, str]]:
    rows = CallParticipant.objects.filter(call__graph_id=RECORD_ID)
    return {row.person_id: (row.verdict, row.cause, row.detail) for row in rows}


def test_each_side_of_a_call_is_judged_when_stored_and_a_newer_version_judges_again() -> None:
    assert services.store_records([record(1, alex_jitter="PT0.09S", alex_signal=20)]).created == 1

    judged = verdicts()
    # Alex's own audio was poor on weak Wi-Fi; Bea heard it, so hers was poor because of others.
    assert judged[ALEX][:2] == (quality.POOR, "weak-wifi")
    assert judged[ALEX][2].startswith("jitter") and "Wi-Fi" in judged[ALEX][2]
    assert judged[BEA] == (quality.POOR, "others", "")

    # The next version reports Alex's audio as fine: both sides are judged again.
    assert services.store_records([record(2, alex_jitter="PT0.01S", alex_signal=80)]).replaced == 1
    assert verdicts() == {ALEX: (quality.GOOD, "", ""), BEA: (quality.GOOD, "", "")}
    assert CallRecord.objects.get(graph_id=RECORD_ID).version == 2

    # An older version arriving late changes nothing.
    assert services.store_records([record(1, alex_jitter="PT0.09S", alex_signal=20)]).ignored == 1
    assert verdicts()[ALEX] == (quality.GOOD, "", "")


def test_my_calls_shows_the_stored_verdict_with_its_cause_and_the_others() -> None:
    services.store_records([record(1, alex_jitter="PT0.09S", alex_signal=20)])

    mine = selectors.my_calls(ALEX, since=timezone.now() - timedelta(days=30))

    [call] = mine.calls
    assert (call.graph_id, call.kind, call.with_whom) == (RECORD_ID, "Call", "Bea Lund")
    assert (call.verdict, call.verdict_words) == (quality.POOR, "Poor")
    assert call.cause_words == "Likely cause: weak Wi-Fi" and call.detail.startswith("jitter")
    assert mine.poor == 1 and mine.tips == []  # one poor call is no pattern yet
    assert selectors.my_calls(BEA, since=timezone.now()).calls == []


def test_my_calls_reads_in_two_queries_however_many_calls(
    django_assert_num_queries: Any,
) -> None:
    services.store_records(
        [
            record(1, alex_jitter="PT0.09S", alex_signal=20, graph_id=f"{RECORD_ID[:-2]}{n:02d}")
            for n in range(5)
        ]
    )

    # The person's rows with their calls, and the others' names.
    with django_assert_num_queries(2):
        mine = selectors.my_calls(ALEX, since=timezone.now() - timedelta(days=30))
    assert len(mine.calls) == 5 and mine.tips  # the same cause five times: a tip


def stream(person: str, verdict: str) -> JudgedStream:
    figures = quality.Figures(modality="audio", jitter_ms=40.0 if verdict == "poor" else 5.0)
    reasons = ("jitter",) if verdict == quality.POOR else ()
    return JudgedStream(person, verdict, figures, reasons, "wired")


def test_the_judgement_reads_the_persons_own_endpoint_and_the_others_streams() -> None:
    # No classified stream: not enough to judge, though a failing device is still named.
    assert judge_for(ALEX, [], [(ALEX, "wired", None, None)]) == (quality.UNCLASSIFIED, "", "")
    assert judge_for(ALEX, [], [(ALEX, "wired", None, 0.5)])[:2] == (
        quality.UNCLASSIFIED,
        "device",
    )
    # A VPN among the person's endpoints outweighs the wired one met first.
    verdict, cause, detail = judge_for(
        ALEX,
        [stream(ALEX, quality.POOR), stream(BEA, quality.GOOD)],
        [(ALEX, "wired", None, None), (BEA, "wired", None, None), (ALEX, "vpn", None, None)],
    )
    assert (verdict, cause) == (quality.POOR, "vpn") and detail.startswith("jitter")
    # Only the others' streams were poor.
    assert judge_for(BEA, [stream(ALEX, quality.POOR)], [(BEA, "wired", None, None)]) == (
        quality.POOR,
        "others",
        "",
    )
    assert judge_for(BEA, [stream(ALEX, quality.GOOD)], []) == (quality.GOOD, "", "")


def test_the_migration_fills_in_what_was_stored_before_as_ingest_does() -> None:
    migration = importlib.import_module("callrecords.migrations.0003_participant_verdicts")
    services.store_records([record(1, alex_jitter="PT0.09S", alex_signal=20)])
    at_ingest = verdicts()
    people = StreamRollup.objects.filter(dimension="person")
    rollups_at_ingest = sorted(people.values_list("hour", "modality", "call_type", "key", "poor"))
    CallParticipant.objects.update(verdict=quality.UNCLASSIFIED, cause="", detail="")
    migration.drop_people_rows_for_any(django_apps, None)
    assert not people.filter(modality="").exists()

    migration.judge_stored_calls(django_apps, None)
    migration.add_people_rows_for_any(django_apps, None)

    assert verdicts() == at_ingest
    assert sorted(people.values_list("hour", "modality", "call_type", "key", "poor")) == (
        rollups_at_ingest
    )
