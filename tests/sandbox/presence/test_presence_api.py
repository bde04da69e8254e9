"""Presence through Graph: reads, sessions, preferred presence, status messages, location."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx
import pytest

from tests.sandbox.conftest import bearer
from tests.sandbox.presence.conftest import (
    READ_OWN_ONLY,
    Tokens,
    advance,
    force,
    graph_error,
    in_minutes,
    presence_of,
    sandbox_now,
    shown,
    user_id,
)
from tests.support.cast import AIKO, GRACE, LENA, MARCUS, MEGAN, PRIYA, SAMUEL, TOMAS
from tests.support.sandbox import RunningSandbox

# The documented tables (presence-setpresence, presence-setuserpreferredpresence).
SET_PRESENCE_PAIRS = [
    ("Available", "Available"),
    ("Busy", "InACall"),
    ("Busy", "InAConferenceCall"),
    ("Away", "Away"),
    ("DoNotDisturb", "Presenting"),
]
PREFERRED_PAIRS = [
    ("Available", "Available"),
    ("Busy", "Busy"),
    ("DoNotDisturb", "DoNotDisturb"),
    ("BeRightBack", "BeRightBack"),
    ("Away", "Away"),
    ("Offline", "OffWork"),
]
PRESENCE_PROPERTIES = {
    "id",
    "availability",
    "activity",
    "statusMessage",
    "outOfOfficeSettings",
    "workLocation",
    "sequenceNumber",
}


def app_id(sandbox: RunningSandbox) -> str:
    return str(sandbox.app("Comms Portal")["client_id"])


def set_presence(
    graph: httpx.Client, token: str, user: str, body: dict[str, object]
) -> httpx.Response:
    return graph.post(f"users/{user}/presence/setPresence", headers=bearer(token), json=body)


def test_people_without_a_teams_session_read_offline_in_every_form(
    presence_sandbox: RunningSandbox, graph: httpx.Client, beta: httpx.Client, tokens: Tokens
) -> None:
    marcus = user_id(presence_sandbox, MARCUS)
    token = tokens.user(MEGAN)
    one = presence_of(graph, token, marcus)
    assert set(one) - {"@odata.context"} == PRESENCE_PROPERTIES
    assert (one["id"], one["availability"], one["activity"]) == (marcus, "Offline", "Offline")
    assert one["workLocation"] == {
        "workLocationType": "unspecified",
        "source": "none",
        "placeId": None,
    }
    assert one["outOfOfficeSettings"] == {"message": None, "isOutOfOffice": False}
    by_communications = graph.get(f"communications/presences/{marcus}", headers=bearer(token))
    in_beta = beta.get(f"communications/presences/{marcus}", headers=bearer(token))
    for response in (by_communications, in_beta):
        assert response.status_code == 200, response.text
        assert {k: v for k, v in response.json().items() if k != "@odata.context"} == {
            k: v for k, v in one.items() if k != "@odata.context"
        }


def test_me_presence_needs_a_delegated_token(
    presence_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    mine = graph.get("me/presence", headers=bearer(tokens.user(PRIYA)))
    assert mine.status_code == 200 and mine.json()["id"] == user_id(presence_sandbox, PRIYA)
    app_only = graph.get("me/presence", headers=bearer(tokens.app()))
    assert graph_error(app_only) == (400, "BadRequest")


def test_reading_others_needs_presence_read_all(
    presence_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    own_only = tokens.user(SAMUEL, READ_OWN_ONLY)
    assert graph.get("me/presence", headers=bearer(own_only)).status_code == 200
    other = graph.get(
        f"users/{user_id(presence_sandbox, PRIYA)}/presence", headers=bearer(own_only)
    )
    assert graph_error(other)[0] == 403
    many = graph.post(
        "communications/getPresencesByUserId",
        headers=bearer(own_only),
        json={"ids": [user_id(presence_sandbox, PRIYA)]},
    )
    assert graph_error(many)[0] == 403


def test_unknown_person_is_not_found(graph: httpx.Client, tokens: Tokens) -> None:
    missing = graph.get(
        "users/00000000-0000-4000-8000-000000000000/presence", headers=bearer(tokens.app())
    )
    assert graph_error(missing) == (404, "NotFound")


def test_get_presences_by_user_id_takes_650_ids_and_refuses_651(
    presence_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    people = presence_sandbox.control("GET", "/presence/state").json()["people"]
    ids = [person["id"] for person in people][:650]
    assert len(ids) == 650
    token = tokens.app()
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        response = graph.post(
            "communications/getPresencesByUserId", headers=bearer(token), json={"ids": ids}
        )
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    value = response.json()["value"]
    assert [item["id"] for item in value] == ids
    assert all(set(item) == PRESENCE_PROPERTIES for item in value)
    # The service answers in well under 20 ms; the round trip over TLS adds a little.
    assert min(timings) < 0.1, timings
    too_many = [*ids, "00000000-0000-4000-8000-000000000001"]
    refused = graph.post(
        "communications/getPresencesByUserId", headers=bearer(token), json={"ids": too_many}
    )
    assert graph_error(refused) == (400, "BadRequest")
    assert "650" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"ids": "not-a-list"},
        {"ids": [42]},
        {"ids": ["not-a-guid"]},
        {},
        {"ids": [], "extra": True},
    ],
)
def test_get_presences_by_user_id_refuses_bad_bodies(
    graph: httpx.Client, tokens: Tokens, body: dict[str, object]
) -> None:
    response = graph.post(
        "communications/getPresencesByUserId", headers=bearer(tokens.app()), json=body
    )
    assert graph_error(response) == (400, "BadRequest")


def test_get_presences_by_user_id_leaves_unknown_ids_out(
    presence_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    lena = user_id(presence_sandbox, LENA)
    unknown = "00000000-0000-4000-8000-0000000000ff"
    response = graph.post(
        "communications/getPresencesByUserId",
        headers=bearer(tokens.user(MEGAN)),
        json={"ids": [unknown, lena, lena.upper()]},
    )
    assert response.status_code == 200, response.text
    assert [item["id"] for item in response.json()["value"]] == [lena]


@pytest.mark.parametrize(("availability", "activity"), SET_PRESENCE_PAIRS)
def test_set_presence_accepts_each_documented_pair(
    presence_sandbox: RunningSandbox,
    graph: httpx.Client,
    tokens: Tokens,
    availability: str,
    activity: str,
) -> None:
    aiko = user_id(presence_sandbox, AIKO)
    body = {
        "sessionId": app_id(presence_sandbox),
        "availability": availability,
        "activity": activity,
        "expirationDuration": "PT30M",
    }
    response = set_presence(graph, tokens.app(), aiko, body)
    assert response.status_code == 200, response.text
    assert shown(graph, tokens.user(MEGAN), aiko) == (availability, activity)


@pytest.mark.parametrize(
    ("availability", "activity"),
    [
        ("Busy", "Busy"),
        ("Busy", "InAMeeting"),  # calendar-driven, not settable
        ("Available", "OutOfOffice"),
        ("DoNotDisturb", "DoNotDisturb"),
        ("Offline", "OffWork"),
        ("Available", "Away"),
        ("Sleeping", "Sleeping"),
    ],
)
def test_set_presence_refuses_other_pairs(
    presence_sandbox: RunningSandbox,
    graph: httpx.Client,
    tokens: Tokens,
    availability: str,
    activity: str,
) -> None:
    body = {"sessionId": app_id(presence_sandbox), "availability": availability}
    body["activity"] = activity
    response = set_presence(graph, tokens.app(), user_id(presence_sandbox, AIKO), body)
    assert graph_error(response) == (400, "BadRequest")


@pytest.mark.parametrize(
    "change",
    [
        {"sessionId": "22553876-f5ab-4529-bffb-cfe50aa89f87"},  # not the calling app
        {"expirationDuration": "PT4M"},
        {"expirationDuration": "PT4H1M"},
        {"expirationDuration": "one hour"},
        {"availability": None},
        {"colour": "green"},
    ],
)
def test_set_presence_refuses_bad_parameters(
    presence_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens, change: dict[str, str]
) -> None:
    aiko = user_id(presence_sandbox, AIKO)
    before = shown(graph, tokens.user(MEGAN), aiko)
    body = {
        "sessionId": app_id(presence_sandbox),
        "availability": "Busy",
        "activity": "InACall",
        **change,
    }
    response = set_presence(graph, tokens.app(), aiko, body)
    assert graph_error(response) == (400, "BadRequest")
    assert shown(graph, tokens.user(MEGAN), aiko) == before


def test_set_presence_with_a_delegated_token_covers_only_oneself(
    presence_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    body = {"sessionId": app_id(presence_sandbox), "availability": "Busy", "activity": "InACall"}
    aiko_token = tokens.user(AIKO)
    own = graph.post("me/presence/setPresence", headers=bearer(aiko_token), json=body)
    assert own.status_code == 200, own.text
    other = set_presence(graph, aiko_token, user_id(presence_sandbox, PRIYA), body)
    assert graph_error(other) == (403, "Forbidden")


def test_app_session_fades_to_inactive_then_away_then_expires(
    presence_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    tomas = user_id(presence_sandbox, TOMAS)
    reader = tokens.user(MEGAN)
    body = {
        "sessionId": app_id(presence_sandbox),
        "availability": "Available",
        "activity": "Available",
        "expirationDuration": "PT20M",
    }
    assert set_presence(graph, tokens.app(), tomas, body).status_code == 200
    first = presence_of(graph, reader, tomas)
    assert (first["availability"], first["activity"]) == ("Available", "Available")
    advance(presence_sandbox, minutes=5.1)
    second = presence_of(graph, reader, tomas)
    assert (second["availability"], second["activity"]) == ("Available", "AvailableInactive")
    advance(presence_sandbox, minutes=5)
    third = presence_of(graph, reader, tomas)
    assert (third["availability"], third["activity"]) == ("Away", "Away")
    assert first["sequenceNumber"] < second["sequenceNumber"] < third["sequenceNumber"]
    advance(presence_sandbox, minutes=10)
    assert shown(graph, reader, tomas) == ("Offline", "Offline")


def test_sessions_aggregate_and_clear_presence_ends_only_our_session(
    presence_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    samuel = user_id(presence_sandbox, SAMUEL)
    reader, app = tokens.user(MEGAN), tokens.app()
    force(presence_sandbox, samuel, "Available", "Available")
    body = {
        "sessionId": app_id(presence_sandbox),
        "availability": "Busy",
        "activity": "InAConferenceCall",
        "expirationDuration": "PT1H",
    }
    assert set_presence(graph, app, samuel, body).status_code == 200
    assert shown(graph, reader, samuel) == ("Busy", "InAConferenceCall")  # Busy > Available
    clear = {"sessionId": app_id(presence_sandbox)}
    cleared = graph.post(f"users/{samuel}/presence/clearPresence", headers=bearer(app), json=clear)
    assert cleared.status_code == 200, cleared.text
    assert shown(graph, reader, samuel) == ("Available", "Available")
    again = graph.post(f"users/{samuel}/presence/clearPresence", headers=bearer(app), json=clear)
    assert graph_error(again) == (404, "NotFound")


def test_preferred_presence_wins_but_only_while_a_session_exists(
    presence_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    grace = user_id(presence_sandbox, GRACE)
    reader, app = tokens.user(MEGAN), tokens.app()
    force(presence_sandbox, grace, "Offline", "Offline")
    prefer = {"availability": "DoNotDisturb", "activity": "DoNotDisturb"}
    url = f"users/{grace}/presence/setUserPreferredPresence"
    assert graph.post(url, headers=bearer(app), json=prefer).status_code == 200
    assert shown(graph, reader, grace) == ("Offline", "Offline")  # no session: no effect
    force(presence_sandbox, grace, "Busy", "InAMeeting")
    assert shown(graph, reader, grace) == ("DoNotDisturb", "DoNotDisturb")
    state = presence_sandbox.control("GET", f"/presence/state?ids={grace}").json()
    # The default expiry is one day for DoNotDisturb.
    assert state["people"][0]["preferredPresence"]["expiresDateTime"] > in_minutes(
        presence_sandbox, 23.9 * 60
    )
    cleared = graph.post(f"users/{grace}/presence/clearUserPreferredPresence", headers=bearer(app))
    assert cleared.status_code == 200, cleared.text
    assert shown(graph, reader, grace) == ("Busy", "InAMeeting")


@pytest.mark.parametrize(("availability", "activity"), PREFERRED_PAIRS)
def test_preferred_presence_accepts_each_documented_pair(
    presence_sandbox: RunningSandbox,
    graph: httpx.Client,
    tokens: Tokens,
    availability: str,
    activity: str,
) -> None:
    grace = user_id(presence_sandbox, GRACE)
    force(presence_sandbox, grace, "Available", "Available")
    body = {"availability": availability, "activity": activity, "expirationDuration": "PT1H"}
    response = graph.post(
        "me/presence/setUserPreferredPresence", headers=bearer(tokens.user(GRACE)), json=body
    )
    assert response.status_code == 200, response.text
    assert shown(graph, tokens.user(MEGAN), grace) == (availability, activity)


@pytest.mark.parametrize(
    ("duration", "days"),
    [("P8D", 8), ("P30DT12H", 30.5), ("P400D", 400), ("PT2400H", 100), ("P2900000D", 2_900_000)],
)
def test_preferred_presence_lasts_as_long_as_asked_beyond_a_week(
    presence_sandbox: RunningSandbox,
    graph: httpx.Client,
    tokens: Tokens,
    duration: str,
    days: float,
) -> None:
    # setUserPreferredPresence documents defaults (1 and 7 days) but no maximum.
    grace = user_id(presence_sandbox, GRACE)
    force(presence_sandbox, grace, "Available", "Available")
    body = {"availability": "Away", "activity": "Away", "expirationDuration": duration}
    response = graph.post(
        "me/presence/setUserPreferredPresence", headers=bearer(tokens.user(GRACE)), json=body
    )
    assert response.status_code == 200, response.text
    assert shown(graph, tokens.user(MEGAN), grace) == ("Away", "Away")
    state = presence_sandbox.control("GET", f"/presence/state?ids={grace}").json()
    expires = datetime.fromisoformat(
        state["people"][0]["preferredPresence"]["expiresDateTime"].replace("Z", "+00:00")
    )
    assert abs((expires - sandbox_now(presence_sandbox)) - timedelta(days=days)) < timedelta(
        minutes=1
    )
    cleared = graph.post(
        "me/presence/clearUserPreferredPresence", headers=bearer(tokens.user(GRACE))
    )
    assert cleared.status_code == 200, cleared.text


@pytest.mark.parametrize(
    "body",
    [
        {"availability": "Busy", "activity": "InACall"},
        {"availability": "Offline", "activity": "Offline"},
        {"availability": "Available", "activity": "Available", "expirationDuration": "PT0S"},
        {"availability": "Available", "activity": "Available", "expirationDuration": "8 days"},
        {"availability": "Available", "activity": "Available", "expirationDuration": "P"},
        {"availability": "Available", "activity": "Available", "expirationDuration": "PT"},
        {"availability": "Available", "activity": "Available", "expirationDuration": "P1H"},
        {"availability": "Available", "activity": "Available", "expirationDuration": 3600},
        # Graph's Duration (Edm.Duration) has days, hours, minutes and seconds; no years.
        {"availability": "Available", "activity": "Available", "expirationDuration": "P1Y"},
        # Beyond 9999-12-31, and beyond any duration at all: refused, never a 500.
        {"availability": "Available", "activity": "Available", "expirationDuration": "P3000000D"},
        {
            "availability": "Available",
            "activity": "Available",
            "expirationDuration": "P" + "9" * 30 + "D",
        },
        {"availability": "Available"},
    ],
)
def test_preferred_presence_refuses_other_pairs_and_durations(
    presence_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens, body: dict[str, str]
) -> None:
    response = graph.post(
        "me/presence/setUserPreferredPresence", headers=bearer(tokens.user(GRACE)), json=body
    )
    assert graph_error(response) == (400, "BadRequest")


def test_status_message_times_are_shown_only_to_the_person(
    presence_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    priya = user_id(presence_sandbox, PRIYA)
    expiry = in_minutes(presence_sandbox, 90)[:19]
    message = {
        "statusMessage": {
            "message": {"content": "Reviewing the release plan", "contentType": "text"},
            "expiryDateTime": {"dateTime": expiry, "timeZone": "UTC"},
        }
    }
    own_token = tokens.user(PRIYA)
    response = graph.post("me/presence/setStatusMessage", headers=bearer(own_token), json=message)
    assert response.status_code == 200, response.text
    mine = presence_of(graph, own_token, priya)["statusMessage"]
    assert mine["message"] == {"content": "Reviewing the release plan", "contentType": "text"}
    assert mine["expiryDateTime"]["dateTime"].startswith(expiry)
    assert mine["expiryDateTime"]["timeZone"] == "UTC"
    assert isinstance(mine["publishedDateTime"], str)
    for reader in (tokens.user(MEGAN), tokens.app()):
        theirs = presence_of(graph, reader, priya)["statusMessage"]
        assert theirs == {"message": mine["message"]}
    advance(presence_sandbox, minutes=91)
    assert presence_of(graph, own_token, priya)["statusMessage"] is None


def test_status_message_in_a_windows_time_zone_and_bad_messages(
    presence_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    own_token = tokens.user(PRIYA)
    url = "me/presence/setStatusMessage"
    pacific = {
        "statusMessage": {
            "message": {"content": "In Seattle this week", "contentType": "text"},
            "expiryDateTime": {
                "dateTime": "2099-01-01T08:00:00",
                "timeZone": "Pacific Standard Time",
            },
        }
    }
    assert graph.post(url, headers=bearer(own_token), json=pacific).status_code == 200
    expiry = presence_of(graph, own_token, "me")["statusMessage"]["expiryDateTime"]
    assert expiry["dateTime"].startswith("2099-01-01T16:00:00")  # PST is UTC-8 in January
    bad_bodies = [
        {"statusMessage": {"message": {"content": "<b>hi</b>", "contentType": "html"}}},
        {"statusMessage": {"message": {"content": "x"}, "expiryDateTime": "tomorrow"}},
        {
            "statusMessage": {
                "message": {"content": "x"},
                "expiryDateTime": {"dateTime": "2099-01-01T08:00:00", "timeZone": "Mars/Olympus"},
            }
        },
        {"statusMessage": "busy"},
        {"status": {"message": {"content": "x"}}},
    ]
    for body in bad_bodies:
        refused = graph.post(url, headers=bearer(own_token), json=body)
        assert graph_error(refused) == (400, "BadRequest"), body
    assert presence_of(graph, own_token, "me")["statusMessage"]["message"]["content"] == (
        "In Seattle this week"
    )


def test_work_location_manual_beats_automatic_and_clears(
    presence_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    token = tokens.user(AIKO)

    def location() -> dict[str, object]:
        return dict(presence_of(graph, token, "me")["workLocation"])

    automatic = {"workLocationType": "office", "placeId": "harbour-tower-12"}
    answer = graph.post("me/presence/setAutomaticLocation", headers=bearer(token), json=automatic)
    assert answer.status_code == 204, answer.text
    assert location() == {
        "workLocationType": "office",
        "source": "automatic",
        "placeId": "harbour-tower-12",
    }
    manual = {"workLocationType": "remote"}
    assert (
        graph.post("me/presence/setManualLocation", headers=bearer(token), json=manual).status_code
        == 204
    )
    assert location() == {"workLocationType": "remote", "source": "manual", "placeId": None}
    assert (
        graph.post("me/presence/clearAutomaticLocation", headers=bearer(token)).status_code == 204
    )
    assert location()["source"] == "manual"
    assert graph.post("me/presence/clearLocation", headers=bearer(token)).status_code == 204
    assert location() == {"workLocationType": "unspecified", "source": "none", "placeId": None}
    wrong = graph.post(
        "me/presence/setManualLocation", headers=bearer(token), json={"workLocationType": "moon"}
    )
    assert graph_error(wrong) == (400, "BadRequest")
    app_only = graph.post(
        f"users/{user_id(presence_sandbox, AIKO)}/presence/setManualLocation",
        headers=bearer(tokens.app()),
        json=manual,
    )
    assert graph_error(app_only)[0] == 403


def test_malformed_bodies_change_nothing(
    presence_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    aiko = user_id(presence_sandbox, AIKO)
    before = presence_of(graph, tokens.app(), aiko)
    url = f"users/{aiko}/presence/setPresence"
    headers = {**bearer(tokens.app()), "Content-Type": "application/json"}
    broken = graph.post(url, headers=headers, content=b"{not json")
    assert graph_error(broken) == (400, "BadRequest")
    as_text = graph.post(url, headers={**bearer(tokens.app()), "Content-Type": "text/plain"})
    assert graph_error(as_text)[0] == 415
    assert presence_of(graph, tokens.app(), aiko)["sequenceNumber"] == before["sequenceNumber"]


def test_presence_requests_are_throttled_per_app(
    presence_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    limits = presence_sandbox.control("GET", "/throttling").json()["limits"]
    assert limits["presence"] == {"requests": 1500, "window_seconds": 30, "per_tenant": True}
    small = {"bucket": "presence", "requests": 3, "window_seconds": 30}
    assert presence_sandbox.control("POST", "/throttling", json=small).status_code == 200
    try:
        lena = user_id(presence_sandbox, LENA)
        answers = [
            graph.get(f"users/{lena}/presence", headers=bearer(tokens.app())) for _ in range(4)
        ]
        assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
        assert int(answers[-1].headers["Retry-After"]) >= 1
    finally:
        presence_sandbox.control("DELETE", "/throttling")


def colleague(sandbox: RunningSandbox, index: int) -> str:
    """Return the id of one of the tenant's generated (non-cast) people."""
    people = sandbox.control("GET", "/presence/state").json()["people"]
    return str(people[20 + index]["id"])


def test_set_presence_lasts_five_minutes_by_default(
    presence_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    person = colleague(presence_sandbox, 0)
    body = {"sessionId": app_id(presence_sandbox), "availability": "Busy", "activity": "InACall"}
    assert set_presence(graph, tokens.app(), person, body).status_code == 200
    advance(presence_sandbox, minutes=4.9)
    assert shown(graph, tokens.app(), person) == ("Busy", "InACall")
    advance(presence_sandbox, minutes=0.2)
    assert shown(graph, tokens.app(), person) == ("Offline", "Offline")


def test_out_of_office_shows_in_activity_and_settings(
    presence_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    person = colleague(presence_sandbox, 1)
    away = {"isOutOfOffice": True, "message": "Back on Monday"}
    force(presence_sandbox, person, "Available", "Available", outOfOffice=away)
    seen = presence_of(graph, tokens.app(), person)
    assert (seen["availability"], seen["activity"]) == ("Available", "OutOfOffice")
    assert seen["outOfOfficeSettings"] == {"message": "Back on Monday", "isOutOfOffice": True}
    force(presence_sandbox, person, "Offline", "Offline")
    assert shown(graph, tokens.app(), person) == ("Offline", "OutOfOffice")
    force(presence_sandbox, person, "Busy", "InACall", outOfOffice={"isOutOfOffice": False})
    assert presence_of(graph, tokens.app(), person)["outOfOfficeSettings"]["isOutOfOffice"] is False
