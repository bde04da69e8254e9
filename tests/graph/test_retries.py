"""Retries happen in one place: Retry-After obeyed, bounded, and never unsafe."""

from __future__ import annotations

import functools
import logging
import uuid
from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest

from comms_portal.graph import (
    GraphClient,
    GraphError,
    GraphTimeout,
    GraphTransportError,
    RetryPolicy,
    ServiceUnavailable,
    Throttled,
    Unauthorized,
)
from comms_portal.graph.presence import get_my_presence, get_presences_by_user_id, set_presence
from tests.graph.fakegraph import FakeClock, FakeGraph, json_response, load_example

PRESENCE = load_example("presence-get-me.response")["response"]
THROTTLED = load_example("throttling-429.response")["response"]
ADELE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
APP_ID = "22553876-f5ab-4529-bffb-cfe50aa89f87"


def throttled(retry_after: str | None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return json_response(429, THROTTLED, headers=headers)


def test_retry_after_seconds_are_waited_before_the_next_request(
    graph: FakeGraph, client: GraphClient, clock: FakeClock
) -> None:
    graph.queue("GET", "/v1.0/me/presence", throttled("2.128"), json_response(200, PRESENCE))

    presence = get_my_presence(client)

    assert presence.availability == "Available"
    assert clock.sleeps == [pytest.approx(2.128)]
    first, second = graph.seen
    assert (second.at - first.at).total_seconds() >= 2.128


def test_retry_after_as_http_date_is_waited_until(
    graph: FakeGraph, client: GraphClient, clock: FakeClock
) -> None:
    later = clock.now + timedelta(seconds=7)
    graph.queue(
        "GET",
        "/v1.0/me/presence",
        throttled(format_datetime(later, usegmt=True)),
        json_response(200, PRESENCE),
    )

    get_my_presence(client)

    assert clock.sleeps == [pytest.approx(7.0)]
    assert graph.seen[1].at >= later


def test_retry_after_beyond_the_budget_raises_throttled_at_once(
    graph: FakeGraph, clock: FakeClock
) -> None:
    graph.queue("GET", "/v1.0/me/presence", throttled("120"))
    client = graph.client(retry=RetryPolicy(max_total_wait=30))

    with pytest.raises(Throttled) as raised:
        get_my_presence(client)

    assert raised.value.retry_after == 120
    assert clock.sleeps == []
    assert len(graph.seen) == 1


def test_total_wait_stays_within_the_budget(graph: FakeGraph, clock: FakeClock) -> None:
    graph.queue("GET", "/v1.0/me/presence", throttled("4"))
    client = graph.client(retry=RetryPolicy(max_attempts=10, max_total_wait=10))

    with pytest.raises(Throttled):
        get_my_presence(client)

    assert clock.sleeps == [4, 4]
    assert len(graph.seen) == 3


def test_attempts_are_bounded(graph: FakeGraph, clock: FakeClock) -> None:
    graph.queue("GET", "/v1.0/me/presence", throttled("1"))
    client = graph.client(retry=RetryPolicy(max_attempts=3, max_total_wait=100))

    with pytest.raises(Throttled):
        get_my_presence(client)

    assert len(graph.seen) == 3
    assert clock.sleeps == [1, 1]


def test_503_is_retried_with_exponential_backoff_when_no_retry_after(
    graph: FakeGraph, client: GraphClient, clock: FakeClock
) -> None:
    graph.queue(
        "GET",
        "/v1.0/me/presence",
        json_response(503, None),
        json_response(503, None),
        json_response(200, PRESENCE),
    )

    get_my_presence(client)

    # Jitter is pinned at 0.5 by the fake: delay = ceiling * 0.75, ceiling doubling from 0.5.
    assert clock.sleeps == [pytest.approx(0.375), pytest.approx(0.75)]
    assert len(graph.seen) == 3


def test_backoff_jitter_spreads_waits_within_bounds(graph: FakeGraph, clock: FakeClock) -> None:
    graph.queue("GET", "/v1.0/me/presence", json_response(504, None))
    for jitter in (0.0, 0.999):
        graph.seen.clear()
        clock.sleeps.clear()
        client = GraphClient(
            graph.client().settings,
            lambda: "token",
            transport=httpx.MockTransport(graph.handler),
            sleep=clock.sleep,
            now=clock.utcnow,
            random=functools.partial(float, jitter),
        )
        with pytest.raises(ServiceUnavailable):
            get_my_presence(client)
        for attempt, delay in enumerate(clock.sleeps):
            ceiling = 0.5 * 2**attempt
            assert ceiling / 2 <= delay <= ceiling


def test_post_is_not_retried_on_500(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue("POST", f"/v1.0/users/{ADELE}/presence/setPresence", json_response(500, None))

    with pytest.raises(GraphError) as raised:
        set_presence(
            client, ADELE, session_id=APP_ID, availability="Available", activity="Available"
        )

    assert raised.value.status == 500
    assert len(graph.seen) == 1


def test_post_is_not_retried_on_504(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue("POST", f"/v1.0/users/{ADELE}/presence/setPresence", json_response(504, None))

    with pytest.raises(ServiceUnavailable):
        set_presence(client, ADELE, session_id=APP_ID, availability="Away", activity="Away")

    assert len(graph.seen) == 1


def test_post_is_not_retried_on_503_without_retry_after(
    graph: FakeGraph, client: GraphClient
) -> None:
    graph.queue("POST", f"/v1.0/users/{ADELE}/presence/setPresence", json_response(503, None))

    with pytest.raises(ServiceUnavailable):
        set_presence(client, ADELE, session_id=APP_ID, availability="Away", activity="Away")

    assert len(graph.seen) == 1


def test_post_is_retried_on_429_and_on_503_with_retry_after(
    graph: FakeGraph, client: GraphClient, clock: FakeClock
) -> None:
    graph.queue(
        "POST",
        f"/v1.0/users/{ADELE}/presence/setPresence",
        throttled("1"),
        json_response(503, None, headers={"Retry-After": "2"}),
        json_response(200, None),
    )

    set_presence(client, ADELE, session_id=APP_ID, availability="Away", activity="Away")

    assert clock.sleeps == [1, 2]
    assert len(graph.seen) == 3
    assert graph.seen[0].body == graph.seen[2].body


def test_read_only_post_is_retried_on_504(
    graph: FakeGraph, client: GraphClient, clock: FakeClock
) -> None:
    example = load_example("presence-getpresencesbyuserid.request")
    graph.queue(
        "POST",
        "/v1.0/communications/getPresencesByUserId",
        json_response(504, None),
        json_response(200, example["response"]),
    )

    presences = get_presences_by_user_id(client, example["request"]["ids"])

    assert [p.availability for p in presences] == ["Busy", "Away"]
    assert len(graph.seen) == 2


def test_connection_refused_is_retried_then_reported(clock: FakeClock) -> None:
    attempts: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    client = GraphClient(
        FakeGraph(clock).client(retry=RetryPolicy(max_attempts=3)).settings,
        lambda: "token",
        transport=httpx.MockTransport(refuse),
        sleep=clock.sleep,
        now=clock.utcnow,
        random=lambda: 0.5,
    )
    with pytest.raises(GraphTransportError) as raised:
        set_presence(client, ADELE, session_id=APP_ID, availability="Away", activity="Away")

    assert not isinstance(raised.value, GraphTimeout)
    assert raised.value.status is None
    assert len(attempts) == 3


def test_read_timeout_on_post_is_not_retried(clock: FakeClock) -> None:
    attempts: list[httpx.Request] = []

    def hang(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ReadTimeout("no answer", request=request)

    client = GraphClient(
        FakeGraph(clock).client().settings,
        lambda: "token",
        transport=httpx.MockTransport(hang),
        sleep=clock.sleep,
        now=clock.utcnow,
    )
    with pytest.raises(GraphTimeout):
        set_presence(client, ADELE, session_id=APP_ID, availability="Away", activity="Away")
    assert len(attempts) == 1

    with pytest.raises(GraphTimeout):
        get_my_presence(client)
    assert len(attempts) == 1 + client.settings.retry.max_attempts


def test_every_attempt_carries_a_fresh_client_request_id_and_token(
    graph: FakeGraph, clock: FakeClock
) -> None:
    tokens = iter(["first-token", "second-token"])
    graph.queue("GET", "/v1.0/me/presence", throttled("1"), json_response(200, PRESENCE))
    client = GraphClient(
        graph.client().settings,
        lambda: next(tokens),
        transport=httpx.MockTransport(graph.handler),
        sleep=clock.sleep,
        now=clock.utcnow,
    )

    get_my_presence(client)

    ids = [seen.headers["client-request-id"] for seen in graph.seen]
    assert len(set(ids)) == 2
    assert all(uuid.UUID(value).version == 4 for value in ids)
    assert [seen.headers["Authorization"] for seen in graph.seen] == [
        "Bearer first-token",
        "Bearer second-token",
    ]


def test_client_request_id_is_logged_with_the_request_id(
    graph: FakeGraph, client: GraphClient, caplog: pytest.LogCaptureFixture
) -> None:
    graph.queue(
        "GET",
        "/v1.0/me/presence",
        json_response(200, PRESENCE, headers={"request-id": "graph-side-id"}),
    )
    with caplog.at_level(logging.DEBUG, logger="comms_portal.graph"):
        get_my_presence(client)

    sent_id = graph.seen[0].headers["client-request-id"]
    messages = [record.getMessage() for record in caplog.records]
    assert any(sent_id in message and "graph-side-id" in message for message in messages)


def test_missing_token_is_unauthorized_without_a_request(graph: FakeGraph) -> None:
    client = graph.client(token="")
    with pytest.raises(Unauthorized):
        get_my_presence(client)
    assert graph.seen == []


def test_401_is_not_retried(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue("GET", "/v1.0/me/presence", json_response(401, None))
    with pytest.raises(Unauthorized):
        get_my_presence(client)
    assert len(graph.seen) == 1


def test_absolute_urls_to_other_hosts_are_refused(graph: FakeGraph, client: GraphClient) -> None:
    with pytest.raises(ValueError, match="another host"):
        client.send("GET", "https://attacker.example/v1.0/me")
    assert graph.seen == []
