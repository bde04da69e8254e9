"""Presence reads and writes, checked against Graph's documented examples."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from comms_portal.graph import GraphClient, InvalidResponse, NotFound
from comms_portal.graph.presence import (
    clear_location,
    clear_presence,
    clear_user_preferred_presence,
    get_my_presence,
    get_presence,
    get_presences_by_user_id,
    presence_from_resource_data,
    set_manual_location,
    set_presence,
    set_status_message,
    set_user_preferred_presence,
)
from tests.graph.fakegraph import FakeGraph, json_response, load_example

ADELE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
MEGAN = "66825e03-7ef5-42da-9069-724602c31f6b"
APP_ID = "22553876-f5ab-4529-bffb-cfe50aa89f87"


def serve(graph: FakeGraph, example_name: str, *, status: int | None = None) -> dict[str, object]:
    example = load_example(example_name)
    path = "/v1.0" + example["url"].split("/v1.0", 1)[1]
    graph.queue(
        example["method"], path, json_response(status or example["status"], example["response"])
    )
    return example


def test_my_presence_is_typed(graph: FakeGraph, client: GraphClient) -> None:
    serve(graph, "presence-get-me.response")

    presence = get_my_presence(client)

    assert (presence.id, presence.availability, presence.activity) == (
        ADELE,
        "Available",
        "Available",
    )
    assert presence.status_message is None


def test_another_persons_presence_with_a_status_message(
    graph: FakeGraph, client: GraphClient
) -> None:
    serve(graph, "presence-get-other-user-with-statusmessage.response")

    presence = get_presence(client, ADELE)

    assert presence.status_message is not None
    assert presence.status_message.message is not None
    assert presence.status_message.message.content == "Hey I am available now"
    assert presence.status_message.message.content_type == "text"
    # Not returned for other people.
    assert presence.status_message.expiry_date_time is None
    assert presence.out_of_office_settings is not None
    assert presence.out_of_office_settings.is_out_of_office is False


def test_user_presence_example(graph: FakeGraph, client: GraphClient) -> None:
    serve(graph, "presence-get-user.response")

    presence = get_presence(client, MEGAN)

    assert (presence.availability, presence.activity) == ("DoNotDisturb", "Presenting")


def test_beta_shape_with_sequence_number_is_read(graph: FakeGraph, client: GraphClient) -> None:
    example = load_example("presence-get-me-beta.response")
    graph.queue("GET", "/v1.0/me/presence", json_response(200, example["response"]))

    presence = get_my_presence(client)

    assert presence.sequence_number == "A0129311063"


def test_presence_wrapped_in_value_as_one_example_prints_it(
    graph: FakeGraph, client: GraphClient
) -> None:
    example = load_example("presence-get-communications.response")
    user_id = example["response"]["value"][0]["id"]
    graph.queue("GET", f"/v1.0/users/{user_id}/presence", json_response(200, example["response"]))

    presence = get_presence(client, user_id)

    assert (presence.availability, presence.activity) == ("Away", "BeRightBack")


def test_presence_with_work_location_and_expiring_status(
    graph: FakeGraph, client: GraphClient
) -> None:
    graph.queue(
        "GET",
        "/v1.0/me/presence",
        json_response(
            200,
            {
                "id": ADELE,
                "availability": "Busy",
                "activity": "InAMeeting",
                "statusMessage": {
                    "message": {"content": "In the quarterly review", "contentType": "text"},
                    "expiryDateTime": {
                        "dateTime": "2025-03-04T17:00:00.0000000",
                        "timeZone": "UTC",
                    },
                    "publishedDateTime": "2025-03-04T08:55:12.0000000Z",
                },
                "workLocation": {
                    "workLocationType": "office",
                    "source": "manual",
                    "placeId": "eb706f15-137e-4722-b4d1-b601481d9251",
                },
            },
        ),
    )

    presence = get_my_presence(client)

    assert presence.status_message is not None
    assert presence.status_message.expiry_date_time is not None
    assert presence.status_message.expiry_date_time.date_time == datetime(2025, 3, 4, 17, 0)
    assert presence.status_message.published_date_time == datetime(
        2025, 3, 4, 8, 55, 12, tzinfo=UTC
    )
    assert presence.work_location is not None
    assert presence.work_location.work_location_type == "office"


def test_presences_by_user_id_posts_the_documented_body(
    graph: FakeGraph, client: GraphClient
) -> None:
    example = serve(graph, "presence-getpresencesbyuserid.request")

    presences = get_presences_by_user_id(client, [ADELE, MEGAN, ADELE])

    assert graph.seen[0].json() == example["request"]
    assert graph.seen[0].headers["Content-Type"] == "application/json"
    assert [(p.id, p.activity) for p in presences] == [(ADELE, "InAMeeting"), (MEGAN, "Away")]


def test_1300_ids_make_two_requests_of_650(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue(
        "POST",
        "/v1.0/communications/getPresencesByUserId",
        lambda request: json_response(
            200,
            {
                "value": [
                    {"id": user_id, "availability": "Offline", "activity": "Offline"}
                    for user_id in json.loads(request.content)["ids"]
                ]
            },
        ),
    )
    user_ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(1300)]

    presences = get_presences_by_user_id(client, user_ids)

    assert [len(seen.json()["ids"]) for seen in graph.seen] == [650, 650]
    assert [presence.id for presence in presences] == user_ids


def test_no_ids_make_no_request(graph: FakeGraph, client: GraphClient) -> None:
    assert get_presences_by_user_id(client, []) == []
    assert graph.seen == []


@pytest.mark.parametrize("bad", [[""], ["  "], [None]], ids=["empty", "blank", "none"])
def test_bad_ids_are_refused_before_sending(
    graph: FakeGraph, client: GraphClient, bad: list[object]
) -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        get_presences_by_user_id(client, bad)  # type: ignore[arg-type]
    assert graph.seen == []


def test_a_single_string_is_not_mistaken_for_ids(client: GraphClient) -> None:
    with pytest.raises(TypeError):
        get_presences_by_user_id(client, ADELE)


def test_a_bulk_answer_without_value_is_invalid(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue(
        "POST", "/v1.0/communications/getPresencesByUserId", json_response(200, {"items": []})
    )
    with pytest.raises(InvalidResponse, match="value"):
        get_presences_by_user_id(client, [ADELE])


def test_set_presence_sends_the_documented_body(graph: FakeGraph, client: GraphClient) -> None:
    example = serve(graph, "presence-setpresence.request")

    set_presence(
        client,
        ADELE,
        session_id=APP_ID,
        availability="Available",
        activity="Available",
        expiration=timedelta(hours=1),
    )

    assert graph.seen[0].json() == example["request"]


@pytest.mark.parametrize(
    ("availability", "activity", "expiration", "message"),
    [
        ("Busy", "InAMeeting", None, "does not accept"),
        ("Available", "Available", timedelta(minutes=4), "between 5 minutes and 4 hours"),
        ("Available", "Available", timedelta(hours=5), "between 5 minutes and 4 hours"),
    ],
)
def test_set_presence_refuses_what_graph_would_refuse(
    graph: FakeGraph,
    client: GraphClient,
    availability: str,
    activity: str,
    expiration: timedelta | None,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        set_presence(
            client,
            ADELE,
            session_id=APP_ID,
            availability=availability,
            activity=activity,
            expiration=expiration,
        )
    assert graph.seen == []


def test_clear_presence_sends_the_session_and_reports_a_missing_one(
    graph: FakeGraph, client: GraphClient
) -> None:
    example = load_example("presence-clearpresence.request")
    graph.queue(
        "POST",
        f"/v1.0/users/{ADELE}/presence/clearPresence",
        json_response(200),
        json_response(404, {"error": {"code": "NotFound", "message": "No such session."}}),
    )

    clear_presence(client, ADELE, session_id=APP_ID)
    with pytest.raises(NotFound, match="No such session"):
        clear_presence(client, ADELE, session_id=APP_ID)

    assert graph.seen[0].json() == example["request"]


def test_preferred_presence_is_set_and_cleared(graph: FakeGraph, client: GraphClient) -> None:
    example = serve(graph, "presence-setuserpreferredpresence.request")
    serve(graph, "presence-clearuserpreferredpresence.request")

    set_user_preferred_presence(
        client,
        ADELE,
        availability="DoNotDisturb",
        activity="DoNotDisturb",
        expiration=timedelta(hours=8),
    )
    clear_user_preferred_presence(client, ADELE)

    assert graph.seen[0].json() == example["request"]
    assert graph.seen[1].url.path.endswith("/clearUserPreferredPresence")
    assert graph.seen[1].json() == {}


def test_preferred_presence_refuses_an_undocumented_pair(client: GraphClient) -> None:
    with pytest.raises(ValueError, match="Offline/OffWork"):
        set_user_preferred_presence(client, ADELE, availability="Offline", activity="Offline")


def test_status_message_without_expiry_matches_the_example(
    graph: FakeGraph, client: GraphClient
) -> None:
    example = serve(graph, "presence-setstatusmessage-no-expiry.request")

    set_status_message(client, ADELE, message="Hey I am available now")

    assert graph.seen[0].json() == example["request"]


def test_status_message_expiry_is_sent_in_utc(graph: FakeGraph, client: GraphClient) -> None:
    serve(graph, "presence-setstatusmessage-with-expiry.request")
    pacific = timezone(timedelta(hours=-7))

    set_status_message(
        client,
        ADELE,
        message="Hey I'm currently in a meeting.",
        expiry=datetime(2022, 10, 18, 17, 5, 33, tzinfo=pacific),
    )

    sent = graph.seen[0].json()["statusMessage"]
    assert sent["expiryDateTime"] == {"dateTime": "2022-10-19T00:05:33", "timeZone": "UTC"}


def test_status_message_refuses_a_naive_expiry(graph: FakeGraph, client: GraphClient) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        set_status_message(client, ADELE, message="Back soon", expiry=datetime(2025, 1, 1))
    assert graph.seen == []


def test_work_location_is_set_and_cleared(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue("POST", "/v1.0/me/presence/setManualLocation", json_response(204))
    graph.queue("POST", "/v1.0/me/presence/clearLocation", json_response(200))

    set_manual_location(
        client, work_location_type="office", place_id="eb706f15-137e-4722-b4d1-b601481d9251"
    )
    clear_location(client)

    assert graph.seen[0].json() == {
        "workLocationType": "office",
        "placeId": "eb706f15-137e-4722-b4d1-b601481d9251",
    }
    assert graph.seen[1].body == b""


def test_work_location_refuses_an_unknown_type(client: GraphClient) -> None:
    with pytest.raises(ValueError, match="work_location_type"):
        set_manual_location(client, work_location_type="moon")


def test_decrypted_presence_example_is_typed() -> None:
    example = load_example("notification-presence-decrypted.payload")
    presence = presence_from_resource_data(example["response"])
    assert presence.id == "{User Id}"
    with pytest.raises(InvalidResponse):
        presence_from_resource_data({"id": "only-an-id"})
