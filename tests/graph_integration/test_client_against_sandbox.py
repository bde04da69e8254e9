"""The Graph client against a real sandbox over HTTPS, with faults injected and real sleeping.

The sandbox is private to this module because its fault table is global: a fault set here
must not hit another test's requests. Every request the client sends passes through a
recording transport wrapped around httpx's own, so the tests see what went over the wire
and when, not what the client believes it did.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from comms_portal.graph import (
    BatchRequest,
    GraphClient,
    GraphSettings,
    GraphTimeout,
    NotFound,
    RetryPolicy,
    User,
    send_batch,
)
from comms_portal.graph.users import get_user
from tests.support.cast import GRACE, PRIYA
from tests.support.sandbox import RunningSandbox, start_sandbox

UNKNOWN_UPN = "nobody.here@lumenhall.example"


@dataclass(frozen=True)
class Exchange:
    """One request as it left the client, and its answer."""

    method: str
    path: str
    sent_at: float
    answered_at: float
    status: int
    request_id: str | None


class RecordingTransport(httpx.BaseTransport):
    """httpx's HTTP transport, noting each request's send and answer times (monotonic)."""

    def __init__(self, ca_bundle: str) -> None:
        self._inner = httpx.HTTPTransport(verify=ssl.create_default_context(cafile=ca_bundle))
        self.exchanges: list[Exchange] = []
        # Every request handed to the network, answered or not: (method, path).
        self.attempts: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        sent_at = time.monotonic()
        self.attempts.append((request.method, request.url.path))
        response = self._inner.handle_request(request)
        self.exchanges.append(
            Exchange(
                request.method,
                request.url.path,
                sent_at,
                time.monotonic(),
                response.status_code,
                response.headers.get("request-id"),
            )
        )
        return response

    def close(self) -> None:
        self._inner.close()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("graph-client-sandbox"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def app_token(sandbox: RunningSandbox) -> str:
    """Get the portal app's token from the sandbox's token endpoint (client credentials)."""
    portal = next(
        app for app in sandbox.info["apps"] if app["client_id"] == sandbox.info["portal_client_id"]
    )
    trust = ssl.create_default_context(cafile=sandbox.ca_bundle)
    response = httpx.post(
        f"{sandbox.info['authority']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": portal["client_id"],
            "client_secret": portal["client_secret"],
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=trust,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(autouse=True)
def no_faults_left(sandbox: RunningSandbox) -> Iterator[None]:
    sandbox.control("DELETE", "/faults")
    yield
    sandbox.control("DELETE", "/faults")


@pytest.fixture
def transport(sandbox: RunningSandbox) -> RecordingTransport:
    return RecordingTransport(sandbox.ca_bundle)


def make_client(
    sandbox: RunningSandbox,
    token: str,
    transport: RecordingTransport,
    *,
    read_timeout: float = 10.0,
    retry: RetryPolicy | None = None,
) -> GraphClient:
    settings = GraphSettings(
        base_url=sandbox.graph_base_url,
        verify=sandbox.ca_bundle,
        read_timeout=read_timeout,
        retry=retry or RetryPolicy(),
    )
    return GraphClient(settings, lambda: token, transport=transport)


def inject(sandbox: RunningSandbox, **fault: object) -> None:
    response = sandbox.control("POST", "/faults", json=fault)
    assert response.status_code == 201, response.text


def user_path(sandbox: RunningSandbox, upn: str) -> str:
    return f"/v1.0/users/{sandbox.user(upn)['id']}"


def test_retry_after_from_a_429_is_waited_before_the_request_is_sent_again(
    sandbox: RunningSandbox, app_token: str, transport: RecordingTransport
) -> None:
    path = user_path(sandbox, PRIYA)
    inject(sandbox, path=path, kind="429", count=1, retry_after=2)
    client = make_client(sandbox, app_token, transport)

    priya = get_user(client, sandbox.user(PRIYA)["id"])

    assert priya.user_principal_name == PRIYA
    refused, retried = transport.exchanges
    assert (refused.path, refused.status) == (path, 429)
    assert (retried.path, retried.status) == (path, 200)
    assert retried.sent_at - refused.answered_at >= 2.0


def test_a_503_twice_is_retried_until_the_call_succeeds(
    sandbox: RunningSandbox, app_token: str, transport: RecordingTransport
) -> None:
    path = user_path(sandbox, GRACE)
    inject(sandbox, path=path, kind="503", count=2, retry_after=0.3)
    client = make_client(sandbox, app_token, transport)

    grace = get_user(client, sandbox.user(GRACE)["id"])

    assert grace.user_principal_name == GRACE
    assert [(e.path, e.status) for e in transport.exchanges] == [
        (path, 503),
        (path, 503),
        (path, 200),
    ]
    first, second, third = transport.exchanges
    assert second.sent_at - first.answered_at >= 0.3
    assert third.sent_at - second.answered_at >= 0.3


def test_a_hang_longer_than_the_read_timeout_ends_in_graph_timeout(
    sandbox: RunningSandbox, app_token: str, transport: RecordingTransport
) -> None:
    path = user_path(sandbox, PRIYA)
    inject(sandbox, path=path, kind="hang", count=2, seconds=5)
    client = make_client(
        sandbox, app_token, transport, read_timeout=0.5, retry=RetryPolicy(max_attempts=2)
    )
    started = time.monotonic()

    with pytest.raises(GraphTimeout) as raised:
        get_user(client, sandbox.user(PRIYA)["id"])

    # Both attempts were cut off by the client long before the sandbox would have answered.
    assert time.monotonic() - started < 5
    assert raised.value.status is None
    assert raised.value.client_request_id
    assert transport.attempts == [("GET", path), ("GET", path)]
    assert transport.exchanges == []  # no answer ever arrived


def test_an_unknown_user_becomes_not_found_with_graphs_request_id(
    sandbox: RunningSandbox, app_token: str, transport: RecordingTransport
) -> None:
    client = make_client(sandbox, app_token, transport)

    with pytest.raises(NotFound) as raised:
        get_user(client, UNKNOWN_UPN)

    [exchange] = transport.exchanges
    assert exchange.status == 404
    assert exchange.request_id
    assert raised.value.request_id == exchange.request_id
    assert raised.value.status == 404
    assert raised.value.code == "Request_ResourceNotFound"


def test_45_requests_through_the_batch_helper_make_3_calls_and_keep_their_order(
    sandbox: RunningSandbox, app_token: str, transport: RecordingTransport
) -> None:
    ids = [user["id"] for user in sandbox.info["users"][:44]]
    # One unknown person in the middle: its error must land at its own position.
    ids.insert(30, "00000000-0000-4000-8000-000000000000")
    assert len(ids) == 45
    client = make_client(sandbox, app_token, transport)

    results = send_batch(client, [BatchRequest("GET", f"/users/{user_id}") for user_id in ids])

    assert [(e.method, e.path) for e in transport.exchanges] == [("POST", "/v1.0/$batch")] * 3
    assert len(results) == 45
    for position, (user_id, result) in enumerate(zip(ids, results, strict=True)):
        if position == 30:
            assert isinstance(result.error, NotFound)
            assert result.status == 404
        else:
            assert result.ok, result.error
            assert result.model(User).id == user_id
