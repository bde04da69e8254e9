"""Online meetings: documented bodies out, typed meetings and reports back, bad answers refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest

from comms_portal.graph import GraphClient, InvalidResponse, NotFound
from comms_portal.graph.meetings import (
    attendee_json,
    call_event_from_resource_data,
    call_events_resource,
    create_meeting,
    create_or_get_meeting,
    delete_meeting,
    find_by_join_meeting_id,
    find_by_join_url,
    get_attendance_report,
    get_meeting,
    list_attendance_reports,
    meeting_body,
    update_meeting,
)
from tests.graph.fakegraph import FakeGraph, json_response, load_example

MEETINGS = "/v1.0/me/onlineMeetings"
BY_ID = load_example("onlinemeetings-get-by-id.response")["response"]
BY_URL = load_example("onlinemeetings-list-filter-joinweburl.response")["response"]


def test_create_sends_the_documented_body_and_types_the_meeting(
    graph: FakeGraph, client: GraphClient
) -> None:
    example = load_example("onlinemeetings-create.request")
    graph.queue("POST", MEETINGS, json_response(201, example["response"]))
    start = datetime(2019, 7, 12, 21, 30, 34, 244491, tzinfo=UTC)
    body = meeting_body(
        subject="User Token Meeting", start=start, end=start + timedelta(minutes=30)
    )
    meeting = create_meeting(client, body)
    assert graph.seen[0].json() == {
        "subject": "User Token Meeting",
        "startDateTime": "2019-07-12T21:30:34.244491Z",
        "endDateTime": "2019-07-12T22:00:34.244491Z",
    }
    assert meeting.id == example["response"]["id"]
    assert meeting.join_meeting_id == "1234567890"
    assert meeting.organizer_id == "550fae72-d25-868c-373732c2704f"


def test_create_or_get_tells_a_new_meeting_from_an_existing_one(
    graph: FakeGraph, client: GraphClient
) -> None:
    example = load_example("onlinemeetings-createorget.request")
    answer = {**example["response"], "joinWebUrl": "https://teams.microsoft.com/l/x"}
    graph.queue(
        "POST", MEETINGS + "/createOrGet", json_response(201, answer), json_response(200, answer)
    )
    body = {**example["request"]}
    first, made = create_or_get_meeting(client, body)
    again, made_again = create_or_get_meeting(client, body)
    assert (made, made_again) == (True, False)
    assert first.external_id == again.external_id == example["request"]["externalId"]
    assert first.attendee_ids == ["1f35f2e6-9cab-44ad-8d5a-b74c14720000"]
    with pytest.raises(ValueError, match="externalId"):
        create_or_get_meeting(client, {"subject": "no key"})


def test_a_meeting_is_found_by_its_url_encoded_join_link_or_its_id(
    graph: FakeGraph, client: GraphClient
) -> None:
    graph.queue("GET", MEETINGS, json_response(200, BY_URL), json_response(200, {"value": []}))
    join_url = BY_URL["value"][0]["joinWebUrl"]
    found = find_by_join_url(client, join_url)
    assert found is not None and found.join_web_url == join_url
    sent = graph.seen[0].url.params["$filter"]
    assert sent.startswith("JoinWebUrl eq '") and unquote(sent[15:-1]) == join_url
    assert find_by_join_meeting_id(client, "1234567890") is None
    assert graph.seen[1].url.params["$filter"] == (
        "joinMeetingIdSettings/joinMeetingId eq '1234567890'"
    )
    with pytest.raises(ValueError, match="digits"):
        find_by_join_meeting_id(client, "12' or 1 eq 1")


def test_answers_that_do_not_match_the_documentation_are_refused(
    graph: FakeGraph, client: GraphClient
) -> None:
    graph.queue(
        "GET",
        MEETINGS,
        json_response(200, {"items": []}),
        json_response(200, {"value": [{"id": "x"}]}),
    )
    with pytest.raises(InvalidResponse):
        find_by_join_meeting_id(client, "1")
    with pytest.raises(InvalidResponse):
        find_by_join_meeting_id(client, "1")
    broken = {**BY_ID, "startDateTime": "soon"}
    graph.queue("GET", MEETINGS + "/abc", json_response(200, broken))
    with pytest.raises(InvalidResponse, match="startDateTime"):
        get_meeting(client, "abc")
    graph.queue("GET", MEETINGS + "/gone", json_response(404, {"error": {"code": "NotFound"}}))
    with pytest.raises(NotFound):
        get_meeting(client, "gone")


def test_update_sends_both_times_and_the_whole_attendee_list(
    graph: FakeGraph, client: GraphClient
) -> None:
    graph.queue("PATCH", MEETINGS + "/m1", json_response(200, BY_ID))
    start = datetime(2030, 1, 1, 9, tzinfo=UTC)
    body = meeting_body(
        subject="Moved",
        start=start,
        end=start + timedelta(hours=1),
        attendees=[attendee_json("u1", "a@example.org"), attendee_json("u2")],
    )
    update_meeting(client, "m1", body)
    sent = graph.seen[0].json()
    assert sent["participants"]["attendees"] == [
        {"identity": {"user": {"id": "u1"}}, "role": "attendee", "upn": "a@example.org"},
        {"identity": {"user": {"id": "u2"}}, "role": "attendee"},
    ]
    with pytest.raises(ValueError, match="both"):
        meeting_body(start=start)
    with pytest.raises(ValueError, match="timezone-aware"):
        meeting_body(start=datetime(2030, 1, 1), end=datetime(2030, 1, 2))
    graph.queue("DELETE", MEETINGS + "/m1", json_response(204))
    delete_meeting(client, "m1")
    assert graph.seen[-1].method == "DELETE"


def test_attendance_reports_and_records_are_typed(graph: FakeGraph, client: GraphClient) -> None:
    listed = load_example("onlinemeetings-attendancereports-list.response")["response"]
    one = load_example("onlinemeetings-attendancereport-get-expand.response")["response"]
    graph.queue("GET", MEETINGS + "/m1/attendanceReports", json_response(200, listed))
    graph.queue("GET", MEETINGS + f"/m1/attendanceReports/{one['id']}", json_response(200, one))
    reports = list(list_attendance_reports(client, "m1"))
    assert [r.total_participant_count for r in reports] == [1, 2]
    report = get_attendance_report(client, "m1", one["id"])
    assert graph.seen[-1].url.params["$expand"] == "attendanceRecords"
    (record,) = report.attendance_records
    assert record.total_attendance_in_seconds == 1152
    assert [span.duration_in_seconds for span in record.attendance_intervals] == [415, 427, 310]
    graph.queue(
        "GET",
        MEETINGS + "/m1/attendanceReports/bad",
        json_response(200, {**one, "attendanceRecords": [{"totalAttendanceInSeconds": -1}]}),
    )
    with pytest.raises(InvalidResponse):
        get_attendance_report(client, "m1", "bad")


def test_call_events_are_read_from_their_documented_shapes() -> None:
    for name, kind in (
        ("notification-onlinemeeting-decrypted-callstarted.payload", "callStarted"),
        ("notification-onlinemeeting-decrypted-rosterupdated.payload", "rosterUpdated"),
        ("notification-onlinemeeting-decrypted-participantleft.payload", "rosterUpdated"),
    ):
        event = call_event_from_resource_data(load_example(name)["response"])
        assert event.event_type == kind
    left = call_event_from_resource_data(
        load_example("notification-onlinemeeting-decrypted-participantleft.payload")["response"]
    )
    assert left.participants[0].has_left
    assert left.participants[0].user["displayName"] == "User that is leaving the call"
    lobby = call_event_from_resource_data(
        load_example("notification-onlinemeeting-decrypted-rosterupdated.payload")["response"]
    )
    assert [p.is_in_lobby for p in lobby.participants] == [False, True]
    for wrong in (
        {"@odata.type": "#microsoft.graph.presence", "eventType": "callStarted"},
        {"@odata.type": "#microsoft.graph.callevent"},
        {
            "@odata.type": "#microsoft.graph.callevent",
            "eventType": "rosterUpdated",
            "participants@delta": "everyone",
        },
    ):
        with pytest.raises(InvalidResponse):
            call_event_from_resource_data(wrong)


def test_the_call_events_resource_encodes_the_join_link() -> None:
    documented = load_example("subscriptions-create-onlinemeeting-callevents.request")
    resource = documented["request"]["resource"]
    join_url = unquote(resource.split("joinWebUrl='", 1)[1].split("')", 1)[0])
    assert call_events_resource(join_url) == resource
