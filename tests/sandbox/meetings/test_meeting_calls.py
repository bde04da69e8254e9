"""Running meetings: call events to subscribers, presence while in a meeting, attendance."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from sandbox import hooks
from tests.sandbox.conftest import bearer
from tests.sandbox.meetings.conftest import (
    Tokens,
    attendee,
    control,
    create,
    error_code,
    user_id,
)
from tests.support.cast import AIKO, GRACE, PRIYA, TOMAS
from tests.support.examples import load_example, shape_differences
from tests.support.sandbox import RunningSandbox
from tests.support.webhook_receiver import (
    SubscriberCertificate,
    WebhookReceiver,
    decrypt_notification_content,
    make_subscriber_certificate,
)


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def certificate() -> SubscriberCertificate:
    return make_subscriber_certificate("Comms Portal meetings")


def call_events_resource(meeting: dict[str, Any]) -> str:
    return (
        "communications/onlineMeetings(joinWebUrl='"
        + quote(meeting["joinWebUrl"], safe="")
        + "')/meetingCallEvents"
    )


def subscribe(
    sandbox: RunningSandbox,
    client: httpx.Client,
    token: str,
    receiver: WebhookReceiver,
    certificate: SubscriberCertificate,
    meeting: dict[str, Any],
    path: str,
) -> httpx.Response:
    now = datetime.fromisoformat(control(sandbox, "GET", "/clock")["now"])
    example = load_example("subscriptions-create-onlinemeeting-callevents.request.json")
    body = {
        **example["request"],
        "notificationUrl": receiver.url(path),
        "resource": call_events_resource(meeting),
        "encryptionCertificate": certificate.base64_der,
        "encryptionCertificateId": "meetings-cert",
        "expirationDateTime": (now + timedelta(days=2)).isoformat(),
        "clientState": "meetings-secret",
    }
    return client.post("subscriptions", json=body, headers=bearer(token))


def presence(graph: httpx.Client, token: str, person: str) -> tuple[str, str]:
    body = graph.get(f"users/{person}/presence", headers=bearer(token)).json()
    return body["availability"], body["activity"]


def test_a_subscriber_hears_the_call_start_the_roster_change_and_the_end(
    meetings_sandbox: RunningSandbox,
    graph: httpx.Client,
    beta: httpx.Client,
    tokens: Tokens,
    receiver: WebhookReceiver,
    certificate: SubscriberCertificate,
) -> None:
    meeting = create(
        graph,
        tokens.user(PRIYA),
        {"subject": "Roster", "participants": {"attendees": [attendee(meetings_sandbox, TOMAS)]}},
    )
    app = tokens.app()
    # Beta only, application permissions only, one per app and meeting.
    on_v1 = subscribe(meetings_sandbox, graph, app, receiver, certificate, meeting, "/m1")
    assert error_code(on_v1) == (400, "InvalidRequest")
    delegated = subscribe(
        meetings_sandbox, beta, tokens.user(PRIYA), receiver, certificate, meeting, "/m1"
    )
    assert error_code(delegated)[0] == 403
    made = subscribe(meetings_sandbox, beta, app, receiver, certificate, meeting, "/m1")
    assert made.status_code == 201, made.text
    twice = subscribe(meetings_sandbox, beta, app, receiver, certificate, meeting, "/m1b")
    assert error_code(twice)[0] == 409

    priya, tomas, aiko = (user_id(meetings_sandbox, upn) for upn in (PRIYA, TOMAS, AIKO))
    base = f"/meetings/{meeting['id']}"
    control(meetings_sandbox, "POST", base + "/join", {"userId": priya})
    control(meetings_sandbox, "POST", base + "/join", {"userId": aiko, "lobby": True})
    assert presence(graph, app, priya) == ("Busy", "InAMeeting")
    control(meetings_sandbox, "POST", base + "/admit", {"userId": aiko})
    control(meetings_sandbox, "POST", base + "/join", {"userId": tomas})
    control(meetings_sandbox, "POST", base + "/leave", {"userId": tomas})
    assert presence(graph, app, tomas) == ("Available", "Available")
    ended = control(meetings_sandbox, "POST", base + "/end")
    assert ended["call"] is None
    assert presence(graph, app, priya) == ("Available", "Available")

    notifications = receiver.wait_for(
        lambda: (found := receiver.notifications("/m1")) and len(found) >= 7 and found,
        what="seven call events",
    )
    documented = load_example("notification-onlinemeeting-rich.payload.json")["request"]["value"][0]
    events = []
    for notification in notifications:
        assert shape_differences(notification, documented) == []
        assert notification["clientState"] == "meetings-secret"
        events.append(
            decrypt_notification_content(notification["encryptedContent"], certificate.private_key)
        )
    # Graph promises no order of delivery; the events' times give it.
    events.sort(key=lambda event: event["eventDateTime"])
    kinds = [event["eventType"] for event in events]
    assert kinds == ["callStarted"] + ["rosterUpdated"] * 5 + ["callEnded"]
    started = load_example("notification-onlinemeeting-decrypted-callstarted.payload.json")
    assert shape_differences(events[0], started["response"]) == []
    left = load_example("notification-onlinemeeting-decrypted-participantleft.payload.json")
    assert shape_differences(events[5], left["response"]) == []
    roster = load_example("notification-onlinemeeting-decrypted-rosterupdated.payload.json")
    for event in events[1:5]:  # joined, waiting in the lobby, admitted, joined
        assert shape_differences(event, roster["response"]) == []
    lobby = events[2]["participants@delta"][0]
    assert (lobby["info"]["identity"]["user"]["id"], lobby["isInLobby"]) == (aiko, True)
    admitted = events[3]["participants@delta"][0]
    assert (admitted["id"], admitted["isInLobby"]) == (lobby["id"], False)
    assert events[5]["participants@delta"][0]["info"]["identity"]["user"]["id"] == tomas

    # The session's attendance report, as the organizer reads it.
    token = tokens.user(PRIYA)
    reports_url = f"me/onlineMeetings/{meeting['id']}/attendanceReports"
    reports = graph.get(reports_url, headers=bearer(token)).json()
    documented_list = load_example("onlinemeetings-attendancereports-list.response.json")
    assert shape_differences(reports, documented_list["response"]) == []
    (report,) = reports["value"]
    assert report["totalParticipantCount"] == 3
    assert report["attendanceRecords"] == []
    expanded = graph.get(
        f"{reports_url}/{report['id']}",
        params={"$expand": "attendanceRecords"},
        headers=bearer(token),
    ).json()
    documented_one = load_example("onlinemeetings-attendancereport-get-expand.response.json")
    assert shape_differences(expanded, documented_one["response"]) == []
    roles = {r["identity"]["id"]: r["role"] for r in expanded["attendanceRecords"]}
    assert roles == {priya: "Organizer", tomas: "Attendee", aiko: "Attendee"}
    records = graph.get(f"{reports_url}/{report['id']}/attendanceRecords", headers=bearer(token))
    documented_records = load_example("onlinemeetings-attendancerecords-list.response.json")
    assert shape_differences(records.json(), documented_records["response"]) == []
    # Only the organizer reads reports.
    as_tomas = graph.get(reports_url, headers=bearer(tokens.user(TOMAS)))
    assert error_code(as_tomas)[0] == 404
    bad_expand = graph.get(
        f"{reports_url}/{report['id']}", params={"$expand": "everything"}, headers=bearer(token)
    )
    assert error_code(bad_expand) == (400, "BadRequest")


def test_each_call_step_says_when_it_was_made_and_a_brief_answer_leaves_the_meeting_out(
    meetings_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    meeting = create(graph, tokens.user(PRIYA), {})
    base = f"/meetings/{meeting['id']}"
    priya, tomas = (user_id(meetings_sandbox, upn) for upn in (PRIYA, TOMAS))
    before = time.time()
    full = control(meetings_sandbox, "POST", base + "/join", {"userId": priya})
    brief = control(meetings_sandbox, "POST", base + "/join", {"userId": tomas, "brief": True})
    after = time.time()
    assert before <= full["changedAt"] <= brief["changedAt"] <= after
    assert [p["userId"] for p in full["call"]["participants"]] == [priya]
    assert set(brief) == {"changedAt"}
    shown = control(meetings_sandbox, "GET", base)
    assert {p["userId"] for p in shown["call"]["participants"]} == {priya, tomas}


def test_call_controls_refuse_what_makes_no_sense(
    meetings_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    meeting = create(graph, tokens.user(PRIYA), {})
    base = f"/meetings/{meeting['id']}"
    tomas = user_id(meetings_sandbox, TOMAS)
    for path, body in (
        ("/end", {}),
        ("/leave", {"userId": tomas}),
        ("/admit", {"userId": tomas}),
        ("/join", {"userId": "nobody"}),
        ("/join", {"userId": tomas, "lobby": "yes"}),
        ("/dance", {"userId": tomas}),
    ):
        response = meetings_sandbox.control("POST", base + path, json=body)
        assert response.status_code == 400, (path, response.text)
    assert meetings_sandbox.control("GET", "/meetings/not-a-meeting").status_code == 400


def test_subscribing_to_an_unknown_meeting_or_without_a_policy_is_refused(
    meetings_sandbox: RunningSandbox,
    beta: httpx.Client,
    graph: httpx.Client,
    tokens: Tokens,
    receiver: WebhookReceiver,
    certificate: SubscriberCertificate,
) -> None:
    app = tokens.app()
    ghost = {"joinWebUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_nope"}
    unknown = subscribe(meetings_sandbox, beta, app, receiver, certificate, ghost, "/m2")
    assert error_code(unknown)[0] == 404
    meeting = create(graph, tokens.user(PRIYA), {})
    try:
        control(meetings_sandbox, "POST", "/meetings/access-policy", {"everyone": False})
        refused = subscribe(meetings_sandbox, beta, app, receiver, certificate, meeting, "/m2")
        assert error_code(refused)[0] == 403
    finally:
        control(meetings_sandbox, "POST", "/meetings/access-policy", {"everyone": True})


def test_the_simulator_plays_a_meeting_out_and_leaves_a_report(
    meetings_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    control(meetings_sandbox, "POST", "/meetings/simulator", {"running": True})
    try:
        now = datetime.fromisoformat(control(meetings_sandbox, "GET", "/clock")["now"])
        meeting = create(
            graph,
            tokens.user(PRIYA),
            {
                "startDateTime": now.isoformat(),
                "endDateTime": (now + timedelta(minutes=30)).isoformat(),
                "participants": {
                    "attendees": [attendee(meetings_sandbox, upn) for upn in (TOMAS, AIKO, GRACE)]
                },
            },
        )
        running = poll(
            lambda: control(meetings_sandbox, "GET", f"/meetings/{meeting['id']}")["call"]
        )
        assert running["participants"][0]["userId"] == user_id(meetings_sandbox, PRIYA)
        control(meetings_sandbox, "POST", "/clock", {"advance_seconds": 31 * 60})
        reports = poll(
            lambda: control(meetings_sandbox, "GET", f"/meetings/{meeting['id']}")[
                "attendanceReports"
            ]
        )
        (report,) = reports
        organizer = next(r for r in report["attendanceRecords"] if r["role"] == "Organizer")
        assert organizer["totalAttendanceInSeconds"] >= 30 * 60
    finally:
        control(meetings_sandbox, "POST", "/meetings/simulator", {"running": False})
    bad = meetings_sandbox.control("POST", "/meetings/simulator", json={"running": "yes"})
    assert bad.status_code == 400


def poll(condition: Any, timeout: float = 10.0) -> Any:
    """Poll the control API until ``condition`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_meeting_ended_listeners_are_told_and_a_failing_one_does_not_stop_the_others() -> None:
    heard: list[tuple[str, int]] = []

    def failing(meeting: dict[str, Any], attendance: Sequence[dict[str, Any]]) -> None:
        raise RuntimeError("listener bug")

    def listening(meeting: dict[str, Any], attendance: Sequence[dict[str, Any]]) -> None:
        heard.append((meeting["id"], len(attendance)))

    removers = [hooks.on_meeting_ended(failing), hooks.on_meeting_ended(listening)]
    try:
        hooks.meeting_ended({"id": "m"}, [{"identity": {"id": "u"}, "attendanceIntervals": []}])
    finally:
        for remove in removers:
            remove()
    assert heard == [("m", 1)]
