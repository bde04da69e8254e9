"""Webinars and town halls in the sandbox: Graph's lifecycle, roles, registration and limits."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from tests.sandbox.virtual_events.conftest import (
    READ_ONLY,
    Tokens,
    graph_error,
    in_hours,
    webinar_body,
)
from tests.support.cast import AIKO, GRACE, LENA, MARCUS, MEGAN, PRIYA, SAMUEL, TOMAS
from tests.support.examples import load_example, shape_differences
from tests.support.sandbox import RunningSandbox

EVENT_ID = re.compile(r"^[0-9a-f-]{36}@[0-9a-f-]{36}$")
WEBINARS = "solutions/virtualEvents/webinars"


def create_webinar(graph: httpx.Client, tokens: Tokens, **changes: Any) -> dict[str, Any]:
    response = graph.post(WEBINARS, json=webinar_body(**changes), headers=tokens.user(MEGAN))
    assert response.status_code == 201, response.text
    return dict(response.json())


def published_webinar(graph: httpx.Client, tokens: Tokens, **changes: Any) -> dict[str, Any]:
    webinar = create_webinar(graph, tokens, **changes)
    answer = graph.post(f"{WEBINARS}/{webinar['id']}/publish", headers=tokens.user(MEGAN))
    assert answer.status_code == 204, answer.text
    return webinar


def register(
    graph: httpx.Client, tokens: Tokens, webinar_id: str, upn: str, answers: Any = None
) -> httpx.Response:
    body: dict[str, Any] = {"preferredTimezone": "UTC", "preferredLanguage": "en-us"}
    if answers is not None:
        body["registrationQuestionAnswers"] = answers
    return graph.post(f"{WEBINARS}/{webinar_id}/registrations", json=body, headers=tokens.user(upn))


def test_a_new_webinar_is_a_draft_shaped_as_documented(
    graph: httpx.Client, tokens: Tokens, events_sandbox: RunningSandbox
) -> None:
    example = load_example("virtualevents-webinar-create.request.json")
    priya = events_sandbox.user(PRIYA)["id"]
    webinar = create_webinar(graph, tokens, coOrganizers=[{"id": priya}])
    assert EVENT_ID.match(webinar["id"])
    assert webinar["id"].endswith("@" + events_sandbox.tenant_id)
    assert webinar["status"] == "draft"
    assert webinar["coOrganizers"][0]["displayName"] == "Priya Natarajan"
    assert shape_differences(webinar, example["response"]) == []
    again = graph.get(f"{WEBINARS}/{webinar['id']}", headers=tokens.user(MEGAN))
    assert again.status_code == 200
    assert again.json()["displayName"] == "Quarterly engineering update"


def test_the_app_cannot_create_and_a_reader_cannot_write(
    graph: httpx.Client, tokens: Tokens
) -> None:
    assert graph_error(graph.post(WEBINARS, json=webinar_body(), headers=tokens.app())) == (
        403,
        "Authorization_RequestDenied",
    )
    # Marcus consented to reading events only.
    reader = tokens.user(MARCUS, READ_ONLY)
    assert graph.post(WEBINARS, json=webinar_body(), headers=reader).status_code == 403


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"endDateTime": in_hours(23)}, "after"),
        ({"displayName": "x" * 256}, "longer than 255"),
        ({"displayName": ""}, "non-empty"),
        ({"audience": "friends"}, "audience"),
        ({"startDateTime": {"dateTime": "tomorrow", "timeZone": "UTC"}}, "not a date"),
        ({"startDateTime": {"dateTime": "2030-01-01T10:00:00", "timeZone": "Mars"}}, "time zone"),
        ({"status": "published"}, "cannot be set"),
    ],
)
def test_bad_events_are_refused_with_graphs_400(
    graph: httpx.Client, tokens: Tokens, changes: dict[str, Any], words: str
) -> None:
    response = graph.post(WEBINARS, json=webinar_body(**changes), headers=tokens.user(MEGAN))
    assert graph_error(response) == (400, "BadRequest")
    assert words in response.json()["error"]["message"]


def test_publish_and_cancel_follow_the_documented_states(
    graph: httpx.Client, tokens: Tokens, events_sandbox: RunningSandbox
) -> None:
    priya = events_sandbox.user(PRIYA)["id"]
    webinar = create_webinar(graph, tokens, coOrganizers=[{"id": priya}])
    one = f"{WEBINARS}/{webinar['id']}"
    # A co-organizer may update but neither publish nor cancel.
    patched = graph.patch(one, json={"displayName": "Renamed"}, headers=tokens.user(PRIYA))
    assert patched.status_code == 200 and patched.json()["displayName"] == "Renamed"
    assert graph.post(f"{one}/publish", headers=tokens.user(PRIYA)).status_code == 403
    # Someone else does not even see the draft.
    assert graph.get(one, headers=tokens.user(TOMAS)).status_code == 404
    assert graph.post(f"{one}/publish", headers=tokens.user(MEGAN)).status_code == 204
    assert graph_error(graph.post(f"{one}/publish", headers=tokens.user(MEGAN)))[0] == 400
    assert graph.get(one, headers=tokens.user(TOMAS)).json()["status"] == "published"
    assert graph.post(f"{one}/cancel", headers=tokens.user(MEGAN)).status_code == 204
    # Canceled is final, and still readable.
    assert graph.get(one, headers=tokens.user(MEGAN)).json()["status"] == "canceled"
    for action in ("publish", "cancel"):
        refused = graph.post(f"{one}/{action}", headers=tokens.user(MEGAN))
        assert graph_error(refused) == (400, "BadRequest")
    refused = graph.patch(one, json={"displayName": "Back"}, headers=tokens.user(MEGAN))
    assert graph_error(refused) == (400, "BadRequest")


def test_a_refused_update_changes_nothing(graph: httpx.Client, tokens: Tokens) -> None:
    webinar = create_webinar(graph, tokens)
    one = f"{WEBINARS}/{webinar['id']}"
    refused = graph.patch(
        one, json={"displayName": "New", "endDateTime": in_hours(1)}, headers=tokens.user(MEGAN)
    )
    assert refused.status_code == 400
    assert (
        graph.get(one, headers=tokens.user(MEGAN)).json()["displayName"] == webinar["displayName"]
    )


def test_town_halls_are_invite_only_within_the_organization(
    graph: httpx.Client, tokens: Tokens, events_sandbox: RunningSandbox
) -> None:
    aiko = events_sandbox.user(AIKO)["id"]
    body = webinar_body(audience="everyone", isInviteOnly=True)
    refused = graph.post("solutions/virtualEvents/townhalls", json=body, headers=tokens.user(MEGAN))
    assert graph_error(refused) == (400, "BadRequest")
    body = webinar_body(isInviteOnly=True, invitedAttendees=[{"id": aiko}])
    made = graph.post("solutions/virtualEvents/townhalls", json=body, headers=tokens.user(MEGAN))
    assert made.status_code == 201
    town_hall = made.json()
    assert town_hall["@odata.type"] == "#microsoft.graph.virtualEventTownhall"
    assert town_hall["isInviteOnly"] is True
    one = f"solutions/virtualEvents/townhalls/{town_hall['id']}"
    assert graph.post(f"{one}/publish", headers=tokens.user(MEGAN)).status_code == 204
    assert graph.get(one, headers=tokens.user(AIKO)).status_code == 200
    assert graph.get(one, headers=tokens.user(LENA)).status_code == 404
    # A town hall is not a webinar.
    assert graph.get(f"{WEBINARS}/{town_hall['id']}", headers=tokens.user(MEGAN)).status_code == 404


def test_listing_by_role_and_for_apps_with_an_access_policy(
    graph: httpx.Client, tokens: Tokens, events_sandbox: RunningSandbox
) -> None:
    priya = events_sandbox.user(PRIYA)["id"]
    megan = events_sandbox.user(MEGAN)["id"]
    webinar = create_webinar(graph, tokens, coOrganizers=[{"id": priya}])
    mine = graph.get(f"{WEBINARS}/getByUserRole(role='organizer')", headers=tokens.user(MEGAN))
    assert webinar["id"] in [one["id"] for one in mine.json()["value"]]
    co = graph.get(f"{WEBINARS}/getByUserRole(role='coOrganizer')", headers=tokens.user(PRIYA))
    assert webinar["id"] in [one["id"] for one in co.json()["value"]]
    bad = graph.get(f"{WEBINARS}/getByUserRole(role='boss')", headers=tokens.user(MEGAN))
    assert bad.status_code == 400
    # Delegated callers have no tenant list.
    assert graph.get(WEBINARS, headers=tokens.user(MEGAN)).status_code == 403
    listed = graph.get(WEBINARS, params={"$count": "true"}, headers=tokens.app()).json()
    assert listed["@odata.count"] >= 1
    assert webinar["id"] in [one["id"] for one in listed["value"]]
    by_user = graph.get(
        f"{WEBINARS}/getByUserIdAndRole(userId='{megan}',role='organizer')", headers=tokens.app()
    )
    assert webinar["id"] in [one["id"] for one in by_user.json()["value"]]
    # Without a policy for the organizer, the app sees none of her events.
    events_sandbox.control("POST", "/virtual-events/access-policy", {"userIds": [priya]})
    try:
        listed = graph.get(WEBINARS, params={"$count": "true"}, headers=tokens.app()).json()
        assert webinar["id"] not in [one["id"] for one in listed["value"]]
        assert graph.get(f"{WEBINARS}/{webinar['id']}", headers=tokens.app()).status_code == 403
    finally:
        events_sandbox.control("POST", "/virtual-events/access-policy", {"global": True})
    assert graph.get(f"{WEBINARS}/{webinar['id']}", headers=tokens.app()).status_code == 200


def test_presenters_internal_and_guest(
    graph: httpx.Client, tokens: Tokens, events_sandbox: RunningSandbox
) -> None:
    webinar = create_webinar(graph, tokens)
    presenters = f"{WEBINARS}/{webinar['id']}/presenters"
    guest = load_example("virtualevents-presenter-create-guest.request.json")
    made = graph.post(presenters, json=guest["request"], headers=tokens.user(MEGAN))
    assert made.status_code == 201
    assert shape_differences(made.json(), guest["response"]) == []
    internal = {
        "identity": {
            "@odata.type": "#microsoft.graph.communicationsUserIdentity",
            "id": events_sandbox.user(GRACE)["id"],
        }
    }
    assert graph.post(presenters, json=internal, headers=tokens.user(MEGAN)).status_code == 201
    again = graph.post(presenters, json=internal, headers=tokens.user(MEGAN))
    assert graph_error(again) == (409, "Conflict")
    listed = graph.get(presenters, headers=tokens.user(MEGAN)).json()["value"]
    assert [one["email"] for one in listed] == [
        "guest.speaker@fabrikam.com",
        "grace.whitfield@lumenhall.example",
    ]
    gone = graph.delete(f"{presenters}/{listed[0]['id']}", headers=tokens.user(MEGAN))
    assert gone.status_code == 204
    assert len(graph.get(presenters, headers=tokens.user(MEGAN)).json()["value"]) == 1


def test_questions_are_beta_and_answers_are_checked(
    graph: httpx.Client, beta: httpx.Client, tokens: Tokens
) -> None:
    webinar = create_webinar(graph, tokens)
    questions = f"{WEBINARS}/{webinar['id']}/registrationConfiguration/questions"
    custom = load_example("virtualevents-registration-question-create-custom.request.json")
    assert (
        graph.post(questions, json=custom["request"], headers=tokens.user(MEGAN)).status_code == 400
    )
    made = beta.post(questions, json=custom["request"], headers=tokens.user(MEGAN))
    assert made.status_code == 201
    assert shape_differences(made.json(), custom["response"]) == []
    required = {
        "@odata.type": "#microsoft.graph.virtualEventRegistrationCustomQuestion",
        "displayName": "Which team are you in?",
        "answerInputType": "singleChoice",
        "answerChoices": ["Platform", "Product"],
        "isRequired": True,
    }
    team = beta.post(questions, json=required, headers=tokens.user(MEGAN)).json()
    one_choice = {**required, "answerChoices": ["Only"]}
    assert beta.post(questions, json=one_choice, headers=tokens.user(MEGAN)).status_code == 400
    assert (
        graph.post(f"{WEBINARS}/{webinar['id']}/publish", headers=tokens.user(MEGAN)).status_code
        == 204
    )

    def answer(choices: list[str]) -> list[dict[str, Any]]:
        return [{"questionId": team["id"], "multiChoiceValues": choices}]

    missing = register(graph, tokens, webinar["id"], TOMAS, [])
    assert graph_error(missing) == (400, "BadRequest")
    assert "requires an answer" in missing.json()["error"]["message"]
    not_offered = register(graph, tokens, webinar["id"], TOMAS, answer(["Sales"]))
    assert "not a choice" in not_offered.json()["error"]["message"]
    two = register(graph, tokens, webinar["id"], TOMAS, answer(["Platform", "Product"]))
    assert two.status_code == 400
    done = register(graph, tokens, webinar["id"], TOMAS, answer(["Platform"]))
    assert done.status_code == 201, done.text
    example = load_example("virtualevents-webinar-registration-create-delegated.request.json")
    assert shape_differences(done.json(), example["response"]) == []
    assert done.json()["registrationQuestionAnswers"][0]["displayName"] == "Which team are you in?"
    assert graph_error(register(graph, tokens, webinar["id"], TOMAS, answer(["Platform"]))) == (
        409,
        "Conflict",
    )


def test_a_deleted_question_is_gone_and_cannot_be_deleted_again(
    beta: httpx.Client, graph: httpx.Client, tokens: Tokens
) -> None:
    webinar = create_webinar(graph, tokens)
    questions = f"{WEBINARS}/{webinar['id']}/registrationConfiguration/questions"
    custom = load_example("virtualevents-registration-question-create-custom.request.json")
    made = beta.post(questions, json=custom["request"], headers=tokens.user(MEGAN)).json()
    one = f"{questions}/{made['id']}"
    assert beta.delete(one, headers=tokens.user(MEGAN)).status_code == 204
    listed = beta.get(questions, headers=tokens.user(MEGAN)).json()["value"]
    assert made["id"] not in [question["id"] for question in listed]
    assert graph_error(beta.delete(one, headers=tokens.user(MEGAN))) == (404, "NotFound")


def test_registration_needs_a_published_webinar(graph: httpx.Client, tokens: Tokens) -> None:
    webinar = create_webinar(graph, tokens)
    assert graph_error(register(graph, tokens, webinar["id"], TOMAS)) == (404, "NotFound")
    one = f"{WEBINARS}/{webinar['id']}"
    graph.post(f"{one}/publish", headers=tokens.user(MEGAN))
    graph.post(f"{one}/cancel", headers=tokens.user(MEGAN))
    assert graph_error(register(graph, tokens, webinar["id"], TOMAS)) == (400, "BadRequest")


def test_capacity_wait_lists_and_a_cancellation_moves_the_first_up(
    graph: httpx.Client, tokens: Tokens
) -> None:
    webinar = published_webinar(graph, tokens)
    one = f"{WEBINARS}/{webinar['id']}"
    config = graph.patch(
        f"{one}/registrationConfiguration", json={"capacity": 1}, headers=tokens.user(MEGAN)
    )
    assert config.status_code == 200 and config.json()["capacity"] == 1
    assert config.json()["registrationWebUrl"].startswith("https://")
    first = register(graph, tokens, webinar["id"], TOMAS).json()
    second = register(graph, tokens, webinar["id"], SAMUEL).json()
    assert (first["status"], second["status"]) == ("registered", "waitlisted")
    # The registrant reads their own; others may not.
    assert (
        graph.get(f"{one}/registrations/{first['id']}", headers=tokens.user(TOMAS)).status_code
        == 200
    )
    assert (
        graph.get(f"{one}/registrations/{first['id']}", headers=tokens.user(SAMUEL)).status_code
        == 403
    )
    assert (
        graph.post(
            f"{one}/registrations/{first['id']}/cancel", headers=tokens.user(SAMUEL)
        ).status_code
        == 403
    )
    cancel = graph.post(f"{one}/registrations/{first['id']}/cancel", headers=tokens.user(TOMAS))
    assert cancel.status_code == 204
    listed = graph.get(f"{one}/registrations", headers=tokens.user(MEGAN)).json()["value"]
    assert {r["email"]: r["status"] for r in listed} == {
        "tomas.lindqvist@lumenhall.example": "canceled",
        "samuel.ortega@lumenhall.example": "registered",
    }
    filtered = graph.get(
        f"{one}/registrations",
        params={"$filter": "email eq 'samuel.ortega@lumenhall.example'"},
        headers=tokens.app(),
    ).json()["value"]
    assert [r["id"] for r in filtered] == [second["id"]]
    # Attendees do not list the registrations.
    assert graph.get(f"{one}/registrations", headers=tokens.user(SAMUEL)).status_code == 403


def test_anonymous_registration_needs_its_own_permission(
    graph: httpx.Client, tokens: Tokens
) -> None:
    webinar = published_webinar(graph, tokens, audience="everyone")
    body = load_example("virtualevents-webinar-registration-create-app.request.json")["request"]
    refused = graph.post(
        f"{WEBINARS}/{webinar['id']}/registrations",
        json={**body, "registrationQuestionAnswers": []},
        headers=tokens.app(),
    )
    assert graph_error(refused) == (403, "Authorization_RequestDenied")


def test_sessions_and_attendance_after_a_session_ends(
    graph: httpx.Client, tokens: Tokens, events_sandbox: RunningSandbox
) -> None:
    webinar = published_webinar(graph, tokens)
    one = f"{WEBINARS}/{webinar['id']}"
    registered = events_sandbox.control(
        "POST", f"/virtual-events/{webinar['id']}/register", {"count": 5}
    ).json()
    assert len(registered["registered"]) == 5
    (session,) = graph.get(f"{one}/sessions", headers=tokens.user(MEGAN)).json()["value"]
    documented = load_example("virtualevents-webinar-session-get.response.json")["response"]
    got = graph.get(f"{one}/sessions/{session['id']}", headers=tokens.user(MEGAN)).json()
    assert shape_differences(got, documented["value"]) == []
    assert (
        graph.get(
            f"{one}/sessions/{session['id']}/attendanceReports", headers=tokens.user(MEGAN)
        ).json()["value"]
        == []
    )
    events_sandbox.control("POST", f"/virtual-events/{webinar['id']}/sessions/{session['id']}/end")
    reports = graph.get(
        f"{one}/sessions/{session['id']}/attendanceReports", headers=tokens.user(MEGAN)
    ).json()["value"]
    (report,) = reports
    example = load_example("virtualevents-webinar-session-attendancereport-get.response.json")
    got = graph.get(
        f"{one}/sessions/{session['id']}/attendanceReports/{report['id']}",
        headers=tokens.user(MEGAN),
    ).json()
    assert shape_differences(got, example["response"]) == []
    records = graph.get(
        f"{one}/sessions/{session['id']}/attendanceReports/{report['id']}/attendanceRecords",
        headers=tokens.user(MEGAN),
    ).json()["value"]
    assert len(records) == report["totalParticipantCount"] >= 1
    assert records[0]["role"] == "Organizer"
    # Attendees do not read attendance.
    reports_url = f"{one}/sessions/{session['id']}/attendanceReports"
    assert graph.get(reports_url, headers=tokens.user(TOMAS)).status_code == 403


def test_writes_are_throttled_at_15_per_30_seconds(
    graph: httpx.Client, tokens: Tokens, events_sandbox: RunningSandbox
) -> None:
    events_sandbox.control("DELETE", "/throttling")
    statuses = [
        graph.post(WEBINARS, json=webinar_body(), headers=tokens.user(MEGAN)).status_code
        for _ in range(16)
    ]
    assert statuses[:15] == [201] * 15
    assert statuses[15] == 429
    last = graph.post(WEBINARS, json=webinar_body(), headers=tokens.user(MEGAN))
    assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1
    # Reads have a budget of their own.
    assert (
        graph.get(
            f"{WEBINARS}/getByUserRole(role='organizer')", headers=tokens.user(MEGAN)
        ).status_code
        == 200
    )


def test_the_simulator_registers_people_over_time_and_wait_lists_past_capacity(
    graph: httpx.Client, tokens: Tokens, events_sandbox: RunningSandbox
) -> None:
    webinar = published_webinar(graph, tokens)
    one = f"{WEBINARS}/{webinar['id']}"
    graph.patch(
        f"{one}/registrationConfiguration", json={"capacity": 2}, headers=tokens.user(MEGAN)
    )
    events_sandbox.control(
        "POST", "/virtual-events/simulator", {"running": True, "secondsPerRegistration": 0.2}
    )
    try:
        deadline = time.monotonic() + 20
        statuses: list[str] = []
        while time.monotonic() < deadline:
            listed = graph.get(f"{one}/registrations", headers=tokens.user(MEGAN)).json()["value"]
            statuses = [r["status"] for r in listed]
            if "waitlisted" in statuses:
                break
            time.sleep(0.2)
    finally:
        events_sandbox.control("POST", "/virtual-events/simulator", {"running": False})
    assert statuses.count("registered") + statuses.count("canceled") >= 2
    assert "waitlisted" in statuses
    assert statuses.count("registered") <= 2


def test_the_control_api_refuses_what_it_cannot_do(
    graph: httpx.Client, tokens: Tokens, events_sandbox: RunningSandbox
) -> None:
    draft = create_webinar(graph, tokens)
    refused = events_sandbox.control(
        "POST", f"/virtual-events/{draft['id']}/register", {"count": 1}
    )
    assert refused.status_code == 400
    webinar = published_webinar(graph, tokens)
    for count in (0, "3", 20_001):
        answer = events_sandbox.control(
            "POST", f"/virtual-events/{webinar['id']}/register", {"count": count}
        )
        assert answer.status_code == 400
    bad = events_sandbox.control("POST", "/virtual-events/access-policy", {"userIds": "everyone"})
    assert bad.status_code == 400
