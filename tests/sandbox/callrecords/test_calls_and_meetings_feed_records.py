"""A call placed through the calls API and a meeting run through the meetings part become
call records readable over Graph, once the sandbox clock passes Teams' delay."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import msal
import pytest

from tests.sandbox.conftest import (
    GRAPH_DEFAULT,
    app_token,
    bearer,
    ca_context,
    trusting_session,
    user_token_result,
)
from tests.support.cast import AIKO, GRACE, SAMUEL
from tests.support.sandbox import RunningSandbox, start_sandbox
from tests.support.webhook_receiver import WebhookReceiver

WEBHOOK = "/bot/calls"
RECORDS = "communications/callRecords"
# Teams writes a record within 150 minutes of the call's end at worst.
WORST_DELAY_SECONDS = 151 * 60
# Records give times to the millisecond; the sandbox clock has microseconds.
SLACK = timedelta(milliseconds=1)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A sandbox of these tests' own: they move its clock."""
    sandbox = start_sandbox(
        tmp_path_factory.mktemp("records-wiring"), extra_args=("--token-lifetime", "86400")
    )
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def receiver(running: RunningSandbox) -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as listening:
        running.control("POST", "/calls/webhook", {"url": listening.url(WEBHOOK)})
        running.control("POST", "/calls/settings", {"answerSeconds": 0.2, "declineSeconds": 0.1})
        yield listening


@pytest.fixture(scope="module")
def bot(running: RunningSandbox) -> Iterator[httpx.Client]:
    calling = running.info["calling"]
    app = msal.ConfidentialClientApplication(
        calling["bot_app_id"],
        client_credential=calling["bot_client_secret"],
        authority=running.info["authority"],
        instance_discovery=False,
        http_client=trusting_session(running.ca_bundle),
    )
    result = app.acquire_token_for_client(scopes=[GRAPH_DEFAULT])
    assert "access_token" in result, result
    with httpx.Client(
        base_url=running.graph_base_url + "/",
        verify=ca_context(running),
        trust_env=False,
        headers=bearer(str(result["access_token"])),
    ) as client:
        yield client


@pytest.fixture(scope="module")
def portal(running: RunningSandbox) -> Iterator[httpx.Client]:
    """Graph as the portal's app sees it (call records are app-only)."""
    with httpx.Client(
        base_url=running.graph_base_url + "/",
        verify=ca_context(running),
        trust_env=False,
        headers=bearer(app_token(running)),
    ) as client:
        yield client


def user_id(running: RunningSandbox, upn: str) -> str:
    return str(running.user(upn)["id"])


def available(running: RunningSandbox, *upns: str) -> None:
    for upn in upns:
        answer = running.control(
            "POST",
            f"/presence/{user_id(running, upn)}",
            {"availability": "Available", "activity": "Available"},
        )
        assert answer.status_code == 200, answer.text


def clock(running: RunningSandbox) -> datetime:
    text = running.control("GET", "/clock").json()["now"]
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def advance(running: RunningSandbox, seconds: float) -> None:
    answer = running.control("POST", "/clock", {"advance_seconds": seconds})
    assert answer.status_code == 200, answer.text


def graph_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def wait_until(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def states(receiver: WebhookReceiver, call_id: str) -> list[str]:
    return [
        item["resourceData"].get("state", "")
        for post in receiver.posts_to(WEBHOOK)
        for item in post.body["value"]
        if item["resourceUrl"].endswith(call_id) and isinstance(item["resourceData"], dict)
    ]


def participants(portal: httpx.Client, record_id: str) -> set[str]:
    answer = portal.get(f"{RECORDS}/{record_id}", params={"$expand": "participants_v2"})
    assert answer.status_code == 200, answer.text
    return {one["id"] for one in answer.json()["participants_v2"]}


def test_a_caller_transferred_to_a_person_leaves_a_peer_to_peer_record(
    running: RunningSandbox, receiver: WebhookReceiver, bot: httpx.Client, portal: httpx.Client
) -> None:
    available(running, GRACE)
    before = clock(running)
    placed = running.control("POST", "/calls/incoming", {"from": {"user": SAMUEL}})
    assert placed.status_code == 201, placed.text
    call_id = placed.json()["id"]
    wait_until(lambda: states(receiver, call_id))
    answered = bot.post(
        f"communications/calls/{call_id}/answer",
        json={"callbackUri": receiver.url(WEBHOOK), "acceptedModalities": ["audio"]},
    )
    assert answered.status_code == 202, answered.text
    wait_until(lambda: "established" in states(receiver, call_id))
    moved = bot.post(
        f"communications/calls/{call_id}/transfer",
        json={"transferTarget": {"identity": {"user": {"id": user_id(running, GRACE)}}}},
    )
    assert moved.status_code == 202, moved.text
    wait_until(lambda: "terminated" in states(receiver, call_id))
    advance(running, 12 * 60)  # Samuel and Grace talk for twelve minutes
    hung_up = running.control("POST", f"/calls/{call_id}/hangup")
    assert hung_up.status_code == 200, hung_up.text
    ended = clock(running)
    record_id = hung_up.json()["callChainId"]

    assert portal.get(f"{RECORDS}/{record_id}").status_code == 404  # not written yet
    advance(running, WORST_DELAY_SECONDS)
    answer = portal.get(f"{RECORDS}/{record_id}")
    assert answer.status_code == 200, answer.text
    record = answer.json()
    assert record["type"] == "peerToPeer"
    assert record["modalities"] == ["audio"]
    assert record["joinWebUrl"] is None
    start, end = graph_time(record["startDateTime"]), graph_time(record["endDateTime"])
    assert before - SLACK <= start < before + timedelta(minutes=1)
    assert ended - timedelta(seconds=5) <= end <= ended + SLACK
    assert end - start >= timedelta(minutes=12)
    assert participants(portal, record_id) == {user_id(running, SAMUEL), user_id(running, GRACE)}


def test_a_caller_redirected_to_a_person_leaves_a_record_of_the_two(
    running: RunningSandbox, receiver: WebhookReceiver, bot: httpx.Client, portal: httpx.Client
) -> None:
    available(running, AIKO)
    placed = running.control("POST", "/calls/incoming", {"from": {"user": GRACE}})
    call_id = placed.json()["id"]
    wait_until(lambda: states(receiver, call_id))
    redirected = bot.post(
        f"communications/calls/{call_id}/redirect",
        json={"targets": [{"identity": {"user": {"id": user_id(running, AIKO)}}}]},
    )
    assert redirected.status_code == 202, redirected.text
    wait_until(lambda: "terminated" in states(receiver, call_id))
    taken = clock(running)
    advance(running, 3 * 60)
    record_id = running.control("POST", f"/calls/{call_id}/hangup").json()["callChainId"]
    advance(running, WORST_DELAY_SECONDS)

    record = portal.get(f"{RECORDS}/{record_id}").json()
    assert record["type"] == "peerToPeer"
    # The conversation began when Aiko took the call, not when it first rang the bot.
    assert taken - timedelta(seconds=5) <= graph_time(record["startDateTime"]) <= taken + SLACK
    assert participants(portal, record_id) == {user_id(running, GRACE), user_id(running, AIKO)}


def test_a_group_call_the_bot_places_leaves_a_group_call_record(
    running: RunningSandbox, receiver: WebhookReceiver, bot: httpx.Client, portal: httpx.Client
) -> None:
    available(running, GRACE, AIKO)
    before = clock(running)
    placed = bot.post(
        "communications/calls",
        json={
            "callbackUri": receiver.url(WEBHOOK),
            "targets": [
                {"identity": {"user": {"id": user_id(running, upn)}}} for upn in (GRACE, AIKO)
            ],
            "requestedModalities": ["audio", "video"],
            "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        },
    )
    assert placed.status_code == 201, placed.text
    call = placed.json()
    wait_until(
        lambda: len(bot.get(f"communications/calls/{call['id']}/participants").json()["value"]) == 3
    )
    advance(running, 5 * 60)
    assert bot.delete(f"communications/calls/{call['id']}").status_code == 204
    ended = clock(running)
    advance(running, WORST_DELAY_SECONDS)

    answer = portal.get(f"{RECORDS}/{call['callChainId']}")
    assert answer.status_code == 200, answer.text
    record = answer.json()
    assert record["type"] == "groupCall"
    assert record["modalities"] == ["audio", "video"]
    assert before - SLACK <= graph_time(record["startDateTime"]) < before + timedelta(minutes=1)
    assert ended - timedelta(seconds=5) <= graph_time(record["endDateTime"]) <= ended + SLACK
    # The bot is in the call, but a record here names the tenant's people.
    assert participants(portal, call["callChainId"]) == {
        user_id(running, GRACE),
        user_id(running, AIKO),
    }


def test_a_call_nobody_takes_leaves_no_record(
    running: RunningSandbox, receiver: WebhookReceiver, bot: httpx.Client, portal: httpx.Client
) -> None:
    placed = running.control("POST", "/calls/incoming", {"from": {"user": SAMUEL}})
    call_id = placed.json()["id"]
    wait_until(lambda: states(receiver, call_id))
    assert (
        bot.post(f"communications/calls/{call_id}/reject", json={"reason": "busy"}).status_code
        == 202
    )
    chain = running.control("GET", "/calls").json()
    chain_id = next(c["callChainId"] for c in chain["calls"] if c["id"] == call_id)
    advance(running, WORST_DELAY_SECONDS)
    assert portal.get(f"{RECORDS}/{chain_id}").status_code == 404


def test_a_meeting_leaves_a_group_call_record_with_its_join_link(
    running: RunningSandbox, portal: httpx.Client
) -> None:
    _, result = user_token_result(
        running, GRACE, ["https://graph.microsoft.com/OnlineMeetings.ReadWrite"]
    )
    assert "access_token" in result, result
    with httpx.Client(
        base_url=running.graph_base_url + "/", verify=ca_context(running), trust_env=False
    ) as graph:
        created = graph.post(
            "me/onlineMeetings",
            json={"subject": "Quarter planning"},
            headers=bearer(str(result["access_token"])),
        )
    assert created.status_code == 201, created.text
    meeting = created.json()
    grace, aiko = user_id(running, GRACE), user_id(running, AIKO)

    def act(action: str, who: str | None = None) -> None:
        body = {"userId": who} if who else {}
        answer = running.control("POST", f"/meetings/{meeting['id']}/{action}", body)
        assert answer.status_code == 200, answer.text

    joined = clock(running)
    act("join", grace)
    act("join", aiko)
    advance(running, 20 * 60)
    act("leave", aiko)
    advance(running, 5 * 60)
    ended = clock(running)
    act("end")
    advance(running, WORST_DELAY_SECONDS)

    mine = portal.get(
        RECORDS,
        params={"$filter": f"participants_v2/any(p:p/id eq '{aiko}')"},
        headers={"Prefer": "odata.maxpagesize=1000"},
    )
    assert mine.status_code == 200, mine.text
    found = [one for one in mine.json()["value"] if one["joinWebUrl"] == meeting["joinWebUrl"]]
    assert len(found) == 1, [one["joinWebUrl"] for one in mine.json()["value"]]
    record = found[0]
    assert record["type"] == "groupCall"
    assert record["modalities"] == ["audio", "video"]
    assert record["organizer_v2"]["id"] == grace
    start, end = graph_time(record["startDateTime"]), graph_time(record["endDateTime"])
    assert joined - SLACK <= start < joined + timedelta(minutes=1)
    assert ended - SLACK <= end < ended + timedelta(minutes=1)
    assert participants(portal, record["id"]) == {grace, aiko}
