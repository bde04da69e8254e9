"""JSON batching, bad input, throttling and injected faults, each answered as Graph does."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.sandbox.conftest import MEGAN, app_token, bearer, user_token_result
from tests.support.examples import load_example, shape_differences
from tests.support.sandbox import RunningSandbox


@pytest.fixture
def headers(sandbox: RunningSandbox) -> dict[str, str]:
    return bearer(app_token(sandbox))


def _error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    problems = shape_differences(
        response.json(), load_example("error-standard.response.json")["response"]
    )
    assert problems == [] and response.json()["error"]["code"] == code
    assert response.headers["request-id"] == response.json()["error"]["innerError"]["request-id"]


def _still_serving(graph: httpx.Client, headers: dict[str, str]) -> None:
    assert graph.get("users?$top=1", headers=headers).status_code == 200


def test_batch_runs_each_request_through_the_pipeline(
    sandbox: RunningSandbox, graph: httpx.Client, headers: dict[str, str]
) -> None:
    megan = sandbox.user(MEGAN)["id"]
    requests = [
        {"id": "1", "method": "GET", "url": f"/users/{megan}"},
        {
            "id": "2",
            "method": "GET",
            "url": "users?$select=id,displayName,userPrincipalName"
            "&$filter=department eq 'Legal'&$count=true",
            "headers": {"ConsistencyLevel": "eventual"},
        },
        {"id": "3", "method": "GET", "url": "/me"},
        {
            "id": "4",
            "method": "POST",
            "url": f"/users/{megan}",
            "body": {},
            "headers": {"Content-Type": "application/json"},
        },
        {"id": "5", "method": "GET", "url": "/nowhere"},
    ]
    response = graph.post("$batch", json={"requests": requests}, headers=headers)
    assert response.status_code == 200
    answers = {item["id"]: item for item in response.json()["responses"]}
    assert answers["1"]["status"] == 200 and answers["1"]["body"]["id"] == megan
    assert answers["2"]["status"] == 200 and answers["2"]["body"]["@odata.count"] >= 2
    assert answers["3"]["status"] == 400  # /me with an app-only token
    assert answers["4"]["status"] == 405
    assert answers["4"]["body"]["error"]["code"] == "Request_BadRequest"
    assert answers["5"]["status"] == 400
    documented = load_example("batch.request.json")["response"]["responses"]
    for ours, theirs in ((answers["2"], documented[4]), (answers["4"], documented[3])):
        assert shape_differences(ours, {k: v for k, v in theirs.items() if k != "headers"}) == []


def test_batch_depends_on_gives_424_after_a_failure(
    sandbox: RunningSandbox, graph: httpx.Client, headers: dict[str, str]
) -> None:
    megan = sandbox.user(MEGAN)["id"]
    requests = [
        {"id": "1", "method": "GET", "url": f"/users/{megan}"},
        {"id": "2", "dependsOn": ["1"], "method": "GET", "url": "/users/unknown-person"},
        {"id": "4", "dependsOn": ["2"], "method": "GET", "url": f"/users/{megan}/manager"},
        {"id": "3", "dependsOn": ["4"], "method": "GET", "url": f"/users/{megan}"},
    ]
    answers = graph.post("$batch", json={"requests": requests}, headers=headers).json()["responses"]
    assert [(a["id"], a["status"]) for a in answers] == [
        ("1", 200),
        ("2", 404),
        ("4", 424),
        ("3", 424),
    ]
    assert answers[2]["body"]["error"]["code"] == "FailedDependency"


def _reads(*depends_on: list[str] | None) -> list[dict[str, object]]:
    """Return one read per argument, with ids 1, 2, ... and the given dependsOn (None: none)."""
    requests: list[dict[str, object]] = []
    for number, dependencies in enumerate(depends_on, start=1):
        request: dict[str, object] = {"id": str(number), "method": "GET", "url": "/users?$top=1"}
        if dependencies is not None:
            request["dependsOn"] = dependencies
        requests.append(request)
    return requests


@pytest.mark.parametrize(
    "requests",
    [
        _reads(None, None, None),
        _reads(None, ["1"], ["2"], ["3"]),
        _reads(None, ["1"], ["1"], ["1"]),
        _reads(None, ["1"], None, ["1"]),
    ],
    ids=["parallel", "serial", "same", "same-beside-independent"],
)
def test_batch_shapes_graph_supports_run(
    graph: httpx.Client, headers: dict[str, str], requests: list[dict[str, object]]
) -> None:
    response = graph.post("$batch", json={"requests": requests}, headers=headers)
    assert response.status_code == 200, response.text
    answers = response.json()["responses"]
    assert sorted(item["id"] for item in answers) == [str(n) for n in range(1, len(requests) + 1)]
    assert {item["status"] for item in answers} == {200}


@pytest.mark.parametrize(
    "requests",
    [
        _reads(None, ["1"], ["2"], None),
        _reads(None, ["1"], None, ["3"]),
        _reads(None, None, ["1", "2"]),
    ],
    ids=["chain-beside-independent", "two-chains", "two-dependencies"],
)
def test_batch_neither_sequential_nor_parallel_is_refused_whole(
    graph: httpx.Client, headers: dict[str, str], requests: list[dict[str, object]]
) -> None:
    response = graph.post("$batch", json={"requests": requests}, headers=headers)
    _error(response, 400, "BadRequest")
    assert "responses" not in response.json()
    assert response.json()["error"]["message"] == (
        "Batch should be either fully sequential or fully parallel."
    )
    _still_serving(graph, headers)


def test_batch_dependency_on_a_later_request_is_refused(
    graph: httpx.Client, headers: dict[str, str]
) -> None:
    requests = _reads(["2"], None)
    response = graph.post("$batch", json={"requests": requests}, headers=headers)
    _error(response, 400, "BadRequest")
    assert "does not come before it" in response.json()["error"]["message"]


def test_batch_of_21_requests_is_400(graph: httpx.Client, headers: dict[str, str]) -> None:
    requests = [{"id": str(n), "method": "GET", "url": "/users?$top=1"} for n in range(21)]
    _error(graph.post("$batch", json={"requests": requests}, headers=headers), 400, "BadRequest")
    _still_serving(graph, headers)


@pytest.mark.parametrize(
    "payload",
    [
        {
            "requests": [
                {"id": "1", "method": "GET", "url": "/users"},
                {"id": "1", "method": "GET", "url": "/users"},
            ]
        },
        {"requests": [{"id": "1", "method": "POST", "url": "/users", "body": {}}]},
        {"requests": [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}]},
        {"requests": "not a list"},
    ],
    ids=["duplicate-id", "body-without-content-type", "unknown-dependency", "not-a-list"],
)
def test_malformed_batch_is_400(
    graph: httpx.Client, headers: dict[str, str], payload: dict[str, object]
) -> None:
    _error(graph.post("$batch", json=payload, headers=headers), 400, "BadRequest")
    _still_serving(graph, headers)


def test_malformed_json_and_wrong_content_type(
    graph: httpx.Client, headers: dict[str, str]
) -> None:
    broken = graph.post(
        "$batch", content=b'{"requests": [', headers={**headers, "Content-Type": "application/json"}
    )
    _error(broken, 400, "BadRequest")
    wrong_type = graph.post(
        "$batch", content=b"requests", headers={**headers, "Content-Type": "text/plain"}
    )
    _error(wrong_type, 415, "UnsupportedMediaType")
    _still_serving(graph, headers)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("$top=1000", "Request_UnsupportedQuery"),
        ("$top=0", "Request_UnsupportedQuery"),
        ("$top=many", "BadRequest"),
        ("$filter=displayName eq", "BadRequest"),
        ("$filter=shoeSize eq 42", "Request_UnsupportedQuery"),
        ("$select=shoeSize", "BadRequest"),
        ("$orderby=jobTitle sideways", "BadRequest"),
        ("$skiptoken=%21%21", "BadRequest"),
        ("$expand=manager", "BadRequest"),
    ],
)
def test_bad_query_options_are_400(
    graph: httpx.Client, headers: dict[str, str], query: str, code: str
) -> None:
    _error(graph.get(f"users?{query}", headers=headers), 400, code)
    _still_serving(graph, headers)


def test_unknown_path_and_method(graph: httpx.Client, headers: dict[str, str]) -> None:
    unknown = graph.get("usres", headers=headers)
    _error(unknown, 400, "BadRequest")
    assert "'usres'" in unknown.json()["error"]["message"]
    _error(graph.delete("users", headers=headers), 405, "Request_BadRequest")
    _error(graph.get("users//x", headers=headers), 400, "BadRequest")
    _still_serving(graph, headers)


def test_throttled_bucket_answers_429_with_retry_after(
    sandbox: RunningSandbox, graph: httpx.Client
) -> None:
    _, result = user_token_result(
        sandbox, MEGAN, ["https://graph.microsoft.com/User.Read"], app_name="Limited Reader"
    )
    token = bearer(result["access_token"])
    limit = {"bucket": "directory", "requests": 3, "window_seconds": 30}
    assert sandbox.control("POST", "/throttling", json=limit).status_code == 200
    try:
        statuses = [graph.get("me", headers=token).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        throttled = graph.get("me", headers=token)
        assert 1 <= float(throttled.headers["Retry-After"]) <= 30
        assert (
            shape_differences(
                throttled.json(), load_example("throttling-429.response.json")["response"]
            )
            == []
        )
        sandbox.control("POST", "/clock", json={"advance_seconds": 31})
        assert graph.get("me", headers=token).status_code == 200
    finally:
        sandbox.control("DELETE", "/throttling")


def test_injected_faults_hit_the_next_matching_requests(
    sandbox: RunningSandbox, graph: httpx.Client, headers: dict[str, str]
) -> None:
    fault = {"path": "/v1.0/users/*/manager", "kind": "503", "count": 2, "retry_after": 0}
    assert sandbox.control("POST", "/faults", json=fault).status_code == 201
    megan = sandbox.user("priya.natarajan@lumenhall.example")["id"]
    statuses = [graph.get(f"users/{megan}/manager", headers=headers).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    sandbox.control(
        "POST", "/faults", json={"path": "/v1.0/users", "kind": "429", "retry_after": 7}
    )
    throttled = graph.get("users", headers=headers)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    hang = {"path_regex": "^/v1.0/users$", "kind": "hang", "seconds": 2}
    sandbox.control("POST", "/faults", json=hang)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        graph.get("users", headers=headers, timeout=0.5)
    assert time.monotonic() - started < 2
    assert sandbox.control("DELETE", "/faults").json() == {"faults": []}


def test_control_api_rejects_bad_requests(sandbox: RunningSandbox) -> None:
    assert sandbox.control("POST", "/faults", json={"path": "/x", "kind": "418"}).status_code == 400
    assert sandbox.control("POST", "/clock", json={"advance_seconds": -5}).status_code == 400
    assert sandbox.control("POST", "/users/nobody", json={"jobTitle": "x"}).status_code == 404
    megan = sandbox.user(MEGAN)["id"]
    assert sandbox.control("POST", f"/users/{megan}", json={"shoeSize": 9}).status_code == 400
    assert sandbox.control("GET", "/info").json()["tenant_id"] == sandbox.tenant_id
