"""Online meetings in the sandbox: Graph's rules for create, createOrGet, get, update, delete."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx

from tests.sandbox.conftest import bearer
from tests.sandbox.meetings.conftest import (
    Tokens,
    attendee,
    control,
    create,
    error_code,
    user_id,
)
from tests.support.cast import GRACE, PRIYA, TOMAS
from tests.support.examples import load_example, shape_differences
from tests.support.sandbox import RunningSandbox

START = "2030-03-04T10:00:00Z"
END = "2030-03-04T10:30:00Z"


def test_a_created_meeting_has_the_documented_shape_and_generated_join_details(
    meetings_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    example = load_example("onlinemeetings-create-passcode.request.json")
    meeting = create(graph, tokens.user(PRIYA), example["request"])
    documented = load_example("onlinemeetings-get-by-id.response.json")["response"]
    assert shape_differences(meeting, documented) == []
    settings = meeting["joinMeetingIdSettings"]
    assert settings["isPasscodeRequired"] is True
    assert len(settings["passcode"]) == 6
    assert settings["joinMeetingId"].isdigit()
    assert meeting["participants"]["organizer"]["identity"]["user"]["id"] == user_id(
        meetings_sandbox, PRIYA
    )
    assert meeting["startDateTime"].startswith("2019-07-12T21:30:34")
    assert meeting["joinWebUrl"].startswith("https://teams.microsoft.com/l/meetup-join/")


def test_the_documented_create_example_is_answered_in_its_shape(
    graph: httpx.Client, tokens: Tokens
) -> None:
    example = load_example("onlinemeetings-create.request.json")
    response = graph.post(
        "me/onlineMeetings", json=example["request"], headers=bearer(tokens.user(PRIYA))
    )
    assert response.status_code == example["status"], response.text
    documented = json.loads(
        # The page spells conferenceId with a capital C here, unlike the resource's page.
        json.dumps(example["response"]).replace('"ConferenceId"', '"conferenceId"')
    )
    meeting = response.json()
    assert shape_differences(meeting, documented) == []
    assert meeting["subject"] == example["request"]["subject"]
    # 14:30:34 at UTC-7 is 21:30:34 UTC; Graph answers in UTC.
    assert meeting["startDateTime"].startswith("2019-07-12T21:30:34")
    assert meeting["endDateTime"].startswith("2019-07-12T22:00:34")


def test_create_refuses_bad_times_custom_passcodes_and_unknown_properties(
    graph: httpx.Client, tokens: Tokens
) -> None:
    token = tokens.user(PRIYA)
    bad_bodies = [
        {"endDateTime": END},
        {"startDateTime": END, "endDateTime": START},
        {"startDateTime": "tomorrow"},
        {"joinMeetingIdSettings": {"passcode": "123456"}},
        {"joinWebUrl": "https://example.org"},
        {"colour": "blue"},
        {"subject": 7},
        {"allowedPresenters": "nobody"},
        {"participants": {"attendees": [{"upn": "nobody@lumenhall.example"}]}},
        {"externalId": "only-for-createOrGet"},
    ]
    for body in bad_bodies:
        response = graph.post("me/onlineMeetings", json=body, headers=bearer(token))
        assert error_code(response) == (400, "BadRequest"), (body, response.text)
    not_json = graph.post(
        "me/onlineMeetings", content=b"subject", headers={**bearer(token), "Content-Type": "text"}
    )
    assert not_json.status_code == 415


def test_a_meeting_without_times_starts_now_for_an_hour(
    meetings_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    meeting = create(graph, tokens.user(PRIYA), {"subject": "Quick sync"})
    start = datetime.fromisoformat(meeting["startDateTime"])
    end = datetime.fromisoformat(meeting["endDateTime"])
    assert end - start == timedelta(hours=1)
    now = datetime.fromisoformat(control(meetings_sandbox, "GET", "/clock")["now"])
    assert abs(start - now) < timedelta(minutes=1)


def test_create_or_get_creates_once_per_external_id(
    meetings_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    token = tokens.user(PRIYA)
    example = load_example("onlinemeetings-createorget.request.json")
    body = {
        **example["request"],
        "externalId": "weekly-sync-2030",
        "participants": {"attendees": [attendee(meetings_sandbox, TOMAS)]},
    }
    first = graph.post("me/onlineMeetings/createOrGet", json=body, headers=bearer(token))
    assert first.status_code == 201, first.text
    again = graph.post(
        "me/onlineMeetings/createOrGet",
        json={**body, "subject": "changed"},
        headers=bearer(token),
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["subject"] == example["request"]["subject"]
    assert shape_differences(again.json(), example["response"]) == []
    # The identity is (tenant, user, externalId): another organizer gets a meeting of their own.
    other = graph.post(
        "me/onlineMeetings/createOrGet", json=body, headers=bearer(tokens.user(GRACE))
    )
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]
    missing = graph.post(
        "me/onlineMeetings/createOrGet", json={"subject": "x"}, headers=bearer(token)
    )
    assert error_code(missing) == (400, "BadRequest")


def test_organizer_and_invitees_find_a_meeting_by_join_url_or_id_and_others_do_not(
    meetings_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    meeting = create(
        graph,
        tokens.user(PRIYA),
        {
            "subject": "Design review",
            "startDateTime": START,
            "endDateTime": END,
            "participants": {"attendees": [attendee(meetings_sandbox, TOMAS)]},
        },
    )
    by_url = "JoinWebUrl eq '" + quote(meeting["joinWebUrl"], safe="") + "'"
    join_id = meeting["joinMeetingIdSettings"]["joinMeetingId"]
    by_id = f"joinMeetingIdSettings/joinMeetingId eq '{join_id}'"
    for upn in (PRIYA, TOMAS):
        for text in (by_url, by_id):
            response = graph.get(
                "me/onlineMeetings", params={"$filter": text}, headers=bearer(tokens.user(upn))
            )
            assert response.status_code == 200, response.text
            assert [m["id"] for m in response.json()["value"]] == [meeting["id"]]
        one = graph.get(f"me/onlineMeetings/{meeting['id']}", headers=bearer(tokens.user(upn)))
        assert one.status_code == 200
    stranger = tokens.user(GRACE)
    found = graph.get("me/onlineMeetings", params={"$filter": by_url}, headers=bearer(stranger))
    assert found.json()["value"] == []
    direct = graph.get(f"me/onlineMeetings/{meeting['id']}", headers=bearer(stranger))
    assert error_code(direct) == (404, "NotFound")
    listing = graph.get("me/onlineMeetings", headers=bearer(stranger))
    assert error_code(listing) == (400, "BadRequest")
    odd = graph.get(
        "me/onlineMeetings", params={"$filter": "subject eq 'x'"}, headers=bearer(stranger)
    )
    assert error_code(odd) == (400, "BadRequest")
    for name, text in (
        ("onlinemeetings-list-filter-joinweburl.response.json", by_url),
        ("onlinemeetings-list-filter-joinmeetingid.response.json", by_id),
    ):
        documented = load_example(name)
        mine = graph.get(
            "me/onlineMeetings", params={"$filter": text}, headers=bearer(tokens.user(PRIYA))
        )
        assert mine.status_code == documented["status"], mine.text
        assert shape_differences(mine.json(), documented["response"]) == [], name


def test_update_follows_the_documented_rules(
    meetings_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    token = tokens.user(PRIYA)
    meeting = create(graph, token, {"subject": "Plan", "startDateTime": START, "endDateTime": END})
    url = f"me/onlineMeetings/{meeting['id']}"
    refused = [
        {"startDateTime": "2030-03-05T10:00:00Z"},
        {"endDateTime": "2030-03-05T10:00:00Z"},
        {"joinMeetingIdSettings": {"isPasscodeRequired": True}},
        {"externalId": "later"},
        {"participants": {"organizer": attendee(meetings_sandbox, GRACE)}},
        {"subject": "ok", "allowMeetingChat": "sometimes"},
    ]
    for body in refused:
        response = graph.patch(url, json=body, headers=bearer(token))
        assert error_code(response) == (400, "BadRequest"), body
    unchanged = graph.get(url, headers=bearer(token)).json()
    assert unchanged["subject"] == "Plan"
    example = load_example("onlinemeetings-update.request.json")
    changed = graph.patch(
        url,
        json={
            **example["request"],
            "participants": {"attendees": [attendee(meetings_sandbox, TOMAS, "presenter")]},
        },
        headers=bearer(token),
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["subject"] == "Patch Meeting Subject"
    assert body["startDateTime"].startswith("2020-09-09T21:33:30")
    assert [a["upn"] for a in body["participants"]["attendees"]] == [TOMAS]
    assert body["participants"]["attendees"][0]["role"] == "presenter"
    lobby = graph.patch(
        url,
        json=load_example("onlinemeetings-update-lobby.request.json")["request"],
        headers=bearer(token),
    )
    assert lobby.json()["lobbyBypassSettings"]["isDialInBypassEnabled"] is True
    assert lobby.json()["allowTeamworkReactions"] is True
    quiet = graph.patch(url, json={"allowTeamworkReactions": False}, headers=bearer(token))
    assert quiet.json()["allowTeamworkReactions"] is False
    odd = graph.patch(url, json={"allowTeamworkReactions": "no"}, headers=bearer(token))
    assert error_code(odd) == (400, "BadRequest")
    # Only the organizer changes a meeting; for an invitee it is not theirs to change.
    by_invitee = graph.patch(url, json={"subject": "mine now"}, headers=bearer(tokens.user(TOMAS)))
    assert error_code(by_invitee) == (404, "NotFound")


def test_delete_removes_the_meeting_for_everyone(
    meetings_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    token = tokens.user(PRIYA)
    meeting = create(
        graph,
        token,
        {"participants": {"attendees": [attendee(meetings_sandbox, TOMAS)]}},
    )
    url = f"me/onlineMeetings/{meeting['id']}"
    assert error_code(graph.delete(url, headers=bearer(tokens.user(TOMAS))))[0] == 404
    example = load_example("onlinemeetings-delete.request.json")
    deleted = graph.delete(url, headers=bearer(token))
    assert (deleted.status_code, deleted.content) == (example["status"], b"")
    assert error_code(graph.get(url, headers=bearer(token))) == (404, "NotFound")
    assert error_code(graph.delete(url, headers=bearer(token))) == (404, "NotFound")


def test_a_person_acts_only_on_their_own_meetings_and_the_app_needs_an_access_policy(
    meetings_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    priya = user_id(meetings_sandbox, PRIYA)
    as_grace = graph.post(
        f"users/{priya}/onlineMeetings", json={}, headers=bearer(tokens.user(GRACE))
    )
    assert error_code(as_grace) == (403, "Forbidden")
    app = tokens.app()
    assert error_code(graph.post("me/onlineMeetings", json={}, headers=bearer(app)))[0] == 400
    try:
        control(meetings_sandbox, "POST", "/meetings/access-policy", {"everyone": False})
        refused = graph.post(f"users/{priya}/onlineMeetings", json={}, headers=bearer(app))
        assert error_code(refused) == (403, "Forbidden")
        control(meetings_sandbox, "POST", "/meetings/access-policy", {"grant": [priya]})
        made = graph.post(f"users/{priya}/onlineMeetings", json={}, headers=bearer(app))
        assert made.status_code == 201, made.text
        tomas = user_id(meetings_sandbox, TOMAS)
        other = graph.post(f"users/{tomas}/onlineMeetings", json={}, headers=bearer(app))
        assert error_code(other) == (403, "Forbidden")
    finally:
        control(
            meetings_sandbox,
            "POST",
            "/meetings/access-policy",
            {"everyone": True, "revoke": [priya]},
        )
    bad = meetings_sandbox.control("POST", "/meetings/access-policy", json={"grant": "x"})
    assert bad.status_code == 400


def test_meeting_times_are_written_in_utc_whatever_zone_they_came_in(
    graph: httpx.Client, tokens: Tokens
) -> None:
    meeting = create(
        graph,
        tokens.user(PRIYA),
        {"startDateTime": "2030-06-01T09:00:00+02:00", "endDateTime": "2030-06-01T10:00:00+02:00"},
    )
    start = datetime.fromisoformat(meeting["startDateTime"])
    assert start == datetime(2030, 6, 1, 7, 0, tzinfo=UTC)
