"""$batch: chunks of 20, results in input order, throttled items retried in budget."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from comms_portal.graph import (
    BatchRequest,
    FailedDependency,
    Forbidden,
    GraphClient,
    GraphError,
    RetryPolicy,
    Throttled,
    send_batch,
)
from comms_portal.graph.presence import Presence
from tests.graph.fakegraph import FakeClock, FakeGraph, json_response, load_example


def presence_body(user_id: str) -> dict[str, str]:
    return {"id": user_id, "availability": "Available", "activity": "Available"}


def answer_every_item(request: httpx.Request) -> httpx.Response:
    """Answer each batched GET with a presence, in reverse order as Graph may."""
    items = json.loads(request.content)["requests"]
    responses = [
        {
            "id": item["id"],
            "status": 200,
            "headers": {"Content-Type": "application/json"},
            "body": presence_body(item["url"].split("/")[2]),
        }
        for item in reversed(items)
    ]
    return json_response(200, {"responses": responses})


def test_45_requests_make_three_calls_and_keep_their_order(
    graph: FakeGraph, client: GraphClient
) -> None:
    graph.queue("POST", "/v1.0/$batch", answer_every_item)
    requests = [BatchRequest("GET", f"/users/user-{n:02d}/presence") for n in range(45)]

    results = send_batch(client, requests)

    assert len(graph.seen) == 3
    assert [len(seen.json()["requests"]) for seen in graph.seen] == [20, 20, 5]
    assert [result.model(Presence).id for result in results] == [f"user-{n:02d}" for n in range(45)]


def test_documented_batch_answer_maps_each_item(graph: FakeGraph, client: GraphClient) -> None:
    example = load_example("batch.request")
    # The example's ids are "1".."5"; ours are positions, so renumber the answer to match.
    for answer in example["response"]["responses"]:
        answer["id"] = str(int(answer["id"]) - 1)
    graph.queue("POST", "/v1.0/$batch", json_response(200, example["response"]))
    requests = [
        BatchRequest(item["method"], item["url"], item.get("body"), item.get("headers", {}))
        for item in example["request"]["requests"]
    ]

    results = send_batch(client, requests)

    assert [result.status for result in results] == [200, 403, 403, 405, 200]
    assert results[0].ok and results[4].ok
    assert isinstance(results[1].error, Forbidden)
    assert isinstance(results[2].error, Forbidden)
    assert results[2].error.code == "Authorization_RequestDenied"
    assert results[2].error.request_id == "93b6f17e-c05d-4f45-ad2a-6665c708d8a0"
    assert type(results[3].error) is GraphError
    assert results[3].error.code == "Request_BadRequest"
    sent = graph.seen[0].json()["requests"]
    assert sent[3]["body"] == {}
    assert sent[3]["headers"]["Content-Type"] == "application/json"
    assert sent[4]["headers"] == {"ConsistencyLevel": "eventual"}
    with pytest.raises(Forbidden):
        results[1].model(Presence)


def test_failed_dependencies_are_mapped_to_424(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue(
        "POST",
        "/v1.0/$batch",
        json_response(
            200,
            {
                "responses": [
                    {"id": "0", "status": 404, "body": {"error": {"code": "itemNotFound"}}},
                    {"id": "1", "status": 424, "body": {"error": {"code": "FailedDependency"}}},
                ]
            },
        ),
    )
    requests = [
        BatchRequest("GET", "/users/gone/presence"),
        BatchRequest("GET", "/users/gone/manager", depends_on=(0,)),
    ]

    results = send_batch(client, requests)

    assert isinstance(results[1].error, FailedDependency)
    assert results[1].status == 424
    assert graph.seen[0].json()["requests"][1]["dependsOn"] == ["0"]


def test_throttled_items_are_resent_after_their_retry_after(
    graph: FakeGraph, client: GraphClient, clock: FakeClock
) -> None:
    def first_round(request: httpx.Request) -> httpx.Response:
        return json_response(
            200,
            {
                "responses": [
                    {"id": "0", "status": 200, "body": presence_body("megan")},
                    {"id": "1", "status": 429, "headers": {"Retry-After": "3"}, "body": {}},
                    {"id": "2", "status": 424, "body": {}},
                ]
            },
        )

    graph.queue("POST", "/v1.0/$batch", first_round, answer_every_item)
    requests = [
        BatchRequest("GET", "/users/megan/presence"),
        BatchRequest("GET", "/users/alex/presence"),
        BatchRequest("GET", "/users/alex/presence", depends_on=(1,)),
    ]

    results = send_batch(client, requests)

    assert clock.sleeps == [3]
    resent = graph.seen[1].json()["requests"]
    assert [item["id"] for item in resent] == ["1", "2"]
    assert resent[1]["dependsOn"] == ["1"]
    assert [result.model(Presence).id for result in results] == ["megan", "alex", "alex"]


def test_throttled_items_beyond_the_budget_stay_throttled(
    graph: FakeGraph, clock: FakeClock
) -> None:
    graph.queue(
        "POST",
        "/v1.0/$batch",
        json_response(
            200,
            {"responses": [{"id": "0", "status": 429, "headers": {"Retry-After": "90"}}]},
        ),
    )
    client = graph.client(retry=RetryPolicy(max_total_wait=30))

    results = send_batch(client, [BatchRequest("GET", "/users/alex/presence")])

    assert isinstance(results[0].error, Throttled)
    assert results[0].error.retry_after == 90
    assert clock.sleeps == []
    assert len(graph.seen) == 1


def test_dependent_requests_travel_in_the_same_batch(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue("POST", "/v1.0/$batch", answer_every_item)
    requests = [BatchRequest("GET", f"/users/u{n}/presence") for n in range(19)]
    requests.append(BatchRequest("GET", "/users/first/presence"))
    requests.append(BatchRequest("GET", "/users/second/presence", depends_on=(19,)))

    results = send_batch(client, requests)

    batches = [[item["id"] for item in seen.json()["requests"]] for seen in graph.seen]
    assert batches == [[str(n) for n in range(19)], ["19", "20"]]
    assert len(results) == 21


def test_batches_take_only_the_dependency_shapes_graph_runs(
    graph: FakeGraph, client: GraphClient
) -> None:
    graph.queue("POST", "/v1.0/$batch", *[answer_every_item] * 4)
    requests = [
        BatchRequest("GET", "/users/a/presence"),
        BatchRequest("GET", "/users/b/presence"),
        BatchRequest("GET", "/users/b/manager", depends_on=(1,)),
        BatchRequest("GET", "/users/c/presence"),
        BatchRequest("GET", "/users/c/manager", depends_on=(3,)),
        BatchRequest("GET", "/users/d/presence"),
        BatchRequest("GET", "/users/d/manager", depends_on=(5,)),
        BatchRequest("GET", "/users/d/photo", depends_on=(6,)),
        BatchRequest("GET", "/users/e/presence"),
    ]

    send_batch(client, requests)

    batches = [[item["id"] for item in seen.json()["requests"]] for seen in graph.seen]
    # Independent requests beside one group waiting on the same request; a second such
    # group in a batch of its own; a chain alone.
    assert batches == [["0", "1", "2"], ["3", "4"], ["5", "6", "7"], ["8"]]


@pytest.mark.parametrize(
    ("requests", "message"),
    [
        ([BatchRequest("GET", "https://graph.microsoft.com/v1.0/me")], "relative"),
        (
            [
                BatchRequest("GET", "/me"),
                BatchRequest("GET", "/me"),
                BatchRequest("GET", "/me", depends_on=(0, 1)),
            ],
            "one dependency per request",
        ),
        (
            [
                BatchRequest("GET", "/me"),
                BatchRequest("GET", "/me", depends_on=(0,)),
                BatchRequest("GET", "/me", depends_on=(1,)),
                BatchRequest("GET", "/me", depends_on=(1,)),
            ],
            "neither one chain",
        ),
        ([BatchRequest("TRACE", "/me")], "unsupported method"),
        ([BatchRequest("GET", "/me", depends_on=(0,))], "earlier requests"),
        (
            [BatchRequest("GET", "/me")]
            + [BatchRequest("GET", "/me", depends_on=(n,)) for n in range(20)],
            "at most 20",
        ),
    ],
    ids=[
        "absolute-url",
        "two-dependencies",
        "branching",
        "bad-method",
        "self-dependency",
        "chain-too-long",
    ],
)
def test_bad_batches_are_refused_before_sending(
    graph: FakeGraph, client: GraphClient, requests: list[BatchRequest], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        send_batch(client, requests)
    assert graph.seen == []


@pytest.mark.parametrize(
    "answer",
    [
        {"value": []},
        {"responses": [{"id": "0"}]},
        {"responses": [{"id": "unknown", "status": 200}]},
        {"responses": []},
    ],
    ids=["no-responses", "no-status", "unknown-id", "missing-item"],
)
def test_malformed_batch_answers_become_per_request_errors(
    graph: FakeGraph, client: GraphClient, answer: dict[str, Any]
) -> None:
    graph.queue("POST", "/v1.0/$batch", json_response(200, answer))

    results = send_batch(client, [BatchRequest("GET", "/me/presence")])

    assert results[0].status == 0
    assert results[0].error is not None
    assert results[0].error.code == "invalidResponse"


def test_a_batch_of_writes_is_not_resent_after_a_gateway_timeout(
    graph: FakeGraph, client: GraphClient
) -> None:
    graph.queue("POST", "/v1.0/$batch", json_response(504, None))

    results = send_batch(
        client,
        [
            BatchRequest("DELETE", "/subscriptions/s1"),
            BatchRequest("POST", "/subscriptions", {"a": 1}),
        ],
    )

    assert len(graph.seen) == 1
    assert all(result.status == 504 for result in results)


def throttle_first_item_once(retry_after: str) -> Any:
    """Answer each $batch, throttling its first item the first time that item is seen."""
    throttled_ids: set[str] = set()

    def respond(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)["requests"]
        responses = []
        for index, item in enumerate(items):
            if index == 0 and item["id"] not in throttled_ids:
                throttled_ids.add(item["id"])
                responses.append(
                    {"id": item["id"], "status": 429, "headers": {"Retry-After": retry_after}}
                )
            else:
                responses.append(
                    {"id": item["id"], "status": 200, "body": presence_body(item["url"])}
                )
        return json_response(200, {"responses": responses})

    return respond


def test_late_chunks_still_get_their_retries(graph: FakeGraph, clock: FakeClock) -> None:
    graph.queue("POST", "/v1.0/$batch", throttle_first_item_once("1"))
    client = graph.client(retry=RetryPolicy(max_attempts=2, max_total_wait=60))

    results = send_batch(client, [BatchRequest("GET", f"/users/u{n}") for n in range(100)])

    assert all(result.ok for result in results)
    assert clock.sleeps == [1, 1, 1, 1, 1]
    assert len(graph.seen) == 10


def test_the_wait_budget_is_shared_by_all_chunks(graph: FakeGraph, clock: FakeClock) -> None:
    graph.queue("POST", "/v1.0/$batch", throttle_first_item_once("20"))
    client = graph.client(retry=RetryPolicy(max_total_wait=30))

    results = send_batch(client, [BatchRequest("GET", f"/users/u{n}") for n in range(40)])

    assert clock.sleeps == [20]
    assert results[0].ok
    assert isinstance(results[20].error, Throttled)
    assert sum(not result.ok for result in results) == 1
