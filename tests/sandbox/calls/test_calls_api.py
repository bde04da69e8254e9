"""The sandbox's calling bot API: calls, signed callbacks, simulated callers and people."""

from __future__ import annotations

import io
import time
import wave
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import msal
import pytest

from tests.sandbox.conftest import (
    GRAPH_DEFAULT,
    app_token,
    bearer,
    ca_context,
    trusting_session,
)
from tests.support.sandbox import RunningSandbox, start_sandbox
from tests.support.webhook_receiver import WebhookReceiver

GRACE = "grace.whitfield@lumenhall.example"
SAMUEL = "samuel.ortega@lumenhall.example"
AIKO = "aiko.tanaka@lumenhall.example"
WEBHOOK = "/bot/calls"


@pytest.fixture(scope="module")
def calls_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A sandbox of these tests' own: they move its clock and change its settings."""
    running = start_sandbox(
        tmp_path_factory.mktemp("calls-sandbox"), extra_args=("--token-lifetime", "86400")
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def bot_token(calls_sandbox: RunningSandbox) -> str:
    calling = calls_sandbox.info["calling"]
    app = msal.ConfidentialClientApplication(
        calling["bot_app_id"],
        client_credential=calling["bot_client_secret"],
        authority=calls_sandbox.info["authority"],
        instance_discovery=False,
        http_client=trusting_session(calls_sandbox.ca_bundle),
    )
    result = app.acquire_token_for_client(scopes=[GRAPH_DEFAULT])
    assert "access_token" in result, result
    return str(result["access_token"])


@pytest.fixture
def graph(calls_sandbox: RunningSandbox, bot_token: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=calls_sandbox.graph_base_url + "/",
        verify=ca_context(calls_sandbox),
        trust_env=False,
        headers=bearer(bot_token),
    ) as client:
        yield client


@pytest.fixture(autouse=True)
def _webhook(calls_sandbox: RunningSandbox, receiver: WebhookReceiver) -> None:
    calls_sandbox.control("POST", "/calls/webhook", {"url": receiver.url(WEBHOOK)})
    calls_sandbox.control(
        "POST",
        "/calls/settings",
        {"answerSeconds": 0.2, "declineSeconds": 0.1, "promptSeconds": 0.1},
    )


def prompt_wav(
    *, seconds: float = 0.2, rate: int = 16_000, channels: int = 1, sample_bytes: int = 2
) -> bytes:
    """Return a WAV file of a quiet tone (by default as the platform plays: 16 kHz mono 16-bit)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(channels)
        audio.setsampwidth(sample_bytes)
        audio.setframerate(rate)
        frames = int(rate * seconds)
        audio.writeframes(bytes(range(256)) * (frames * channels * sample_bytes // 256 + 1))
    return buffer.getvalue()


def user_id(sandbox: RunningSandbox, upn: str) -> str:
    return str(sandbox.user(upn)["id"])


def set_presence(sandbox: RunningSandbox, upn: str, availability: str, activity: str) -> None:
    answer = sandbox.control(
        "POST",
        f"/presence/{user_id(sandbox, upn)}",
        {"availability": availability, "activity": activity},
    )
    assert answer.status_code == 200, answer.text


def presence_of(sandbox: RunningSandbox, upn: str) -> tuple[str, str]:
    people = sandbox.control("GET", f"/presence/state?ids={user_id(sandbox, upn)}").json()
    person = people["people"][0]
    return person["availability"], person["activity"]


def notifications_of(receiver: WebhookReceiver, call_id: str) -> list[dict[str, Any]]:
    found = []
    for post in receiver.posts_to(WEBHOOK):
        for item in post.body["value"]:
            if call_id in item["resourceUrl"]:
                found.append(item)
    return found


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
        for item in notifications_of(receiver, call_id)
        if item["resourceUrl"].endswith(call_id) and isinstance(item["resourceData"], dict)
    ]


def incoming_call(sandbox: RunningSandbox, receiver: WebhookReceiver) -> str:
    answer = sandbox.control("POST", "/calls/incoming", {"from": {"phone": "+447700900123"}})
    assert answer.status_code == 201, answer.text
    call_id = str(answer.json()["id"])
    wait_until(lambda: states(receiver, call_id))
    return call_id


def answered(graph: httpx.Client, receiver: WebhookReceiver, call_id: str) -> None:
    response = graph.post(
        f"communications/calls/{call_id}/answer",
        json={
            "callbackUri": receiver.url(WEBHOOK),
            "acceptedModalities": ["audio"],
            "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        },
    )
    assert response.status_code == 202, response.text
    wait_until(lambda: "established" in states(receiver, call_id))


def test_callbacks_carry_a_platform_token_checkable_with_the_published_keys(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver
) -> None:
    call_id = incoming_call(calls_sandbox, receiver)
    post = next(p for p in receiver.posts_to(WEBHOOK) if call_id in str(p.body))
    token = post.headers["Authorization"].removeprefix("Bearer ")
    calling = calls_sandbox.info["calling"]
    with httpx.Client(verify=ca_context(calls_sandbox), trust_env=False) as client:
        configuration = client.get(calling["openid_configuration"]).json()
        keys = client.get(configuration["jwks_uri"]).json()["keys"]
    assert configuration["issuer"] == "https://api.botframework.com"
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK(next(k for k in keys if k["kid"] == kid)).key
    claims = jwt.decode(
        token,
        key,
        algorithms=["RS256"],
        audience=calling["bot_app_id"],
        issuer="https://api.botframework.com",
    )
    assert claims["tid"] == calls_sandbox.tenant_id
    created = notifications_of(receiver, call_id)[0]
    assert created["changeType"] == "created"
    assert created["resourceData"]["state"] == "incoming"
    assert created["resourceData"]["source"]["identity"]["phone"]["id"] == "+447700900123"


def test_rotated_keys_stay_published_until_dropped(calls_sandbox: RunningSandbox) -> None:
    rotated = calls_sandbox.control("POST", "/calls/keys/rotate", {}).json()
    assert len(rotated["published"]) >= 2
    assert rotated["kid"] == rotated["published"][-1]
    dropped = calls_sandbox.control("POST", "/calls/keys/rotate", {"dropOld": True}).json()
    assert dropped["published"] == [dropped["kid"]]


def test_an_unanswered_incoming_call_is_dropped_after_15_seconds(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver
) -> None:
    call_id = incoming_call(calls_sandbox, receiver)
    calls_sandbox.control("POST", "/clock", {"advance_seconds": 16})
    wait_until(lambda: "terminated" in states(receiver, call_id))
    last = notifications_of(receiver, call_id)[-1]
    assert last["changeType"] == "deleted"
    assert last["resourceData"]["resultInfo"]["code"] == 408


def test_answer_prompt_tones_and_hang_up(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    call_id = incoming_call(calls_sandbox, receiver)
    answered(graph, receiver, call_id)
    receiver.files["/media/greeting.wav"] = (200, "audio/wav", prompt_wav())
    prompt = graph.post(
        f"communications/calls/{call_id}/playPrompt",
        json={
            "clientContext": "greeting",
            "prompts": [
                {
                    "@odata.type": "#microsoft.graph.mediaPrompt",
                    "mediaInfo": {"uri": receiver.url("/media/greeting.wav")},
                }
            ],
        },
    )
    assert prompt.status_code == 200, prompt.text
    operation = prompt.json()
    assert operation["status"] == "running"
    assert prompt.headers["Location"].endswith(f"/calls/{call_id}/operations/{operation['id']}")
    wait_until(
        lambda: any(
            item["resourceUrl"].endswith(operation["id"])
            and item["resourceData"]["status"] == "completed"
            for item in notifications_of(receiver, call_id)
        )
    )
    assert graph.post(f"communications/calls/{call_id}/subscribeToTone", json={}).status_code == 200
    calls_sandbox.control("POST", f"/calls/{call_id}/tones", {"tones": "2#"})
    tones = wait_until(
        lambda: (
            [
                item["resourceData"]["toneInfo"]
                for item in notifications_of(receiver, call_id)
                if isinstance(item["resourceData"], dict) and item["resourceData"].get("toneInfo")
            ]
            if len(notifications_of(receiver, call_id)) > 0
            and sum(
                1
                for item in notifications_of(receiver, call_id)
                if isinstance(item["resourceData"], dict) and item["resourceData"].get("toneInfo")
            )
            == 2
            else None
        )
    )
    assert [tone["tone"] for tone in tones] == ["tone2", "pound"]
    assert [tone["sequenceId"] for tone in tones] == [1, 2]
    assert graph.post(f"communications/calls/{call_id}/keepAlive").status_code == 200
    assert graph.delete(f"communications/calls/{call_id}").status_code == 204
    wait_until(lambda: "terminated" in states(receiver, call_id))
    assert states(receiver, call_id)[-2:] == ["terminating", "terminated"]
    assert graph.post(f"communications/calls/{call_id}/keepAlive").status_code == 404


def test_documented_limits_are_enforced(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    call_id = incoming_call(calls_sandbox, receiver)
    grace = {"identity": {"user": {"id": user_id(calls_sandbox, GRACE)}}}
    too_many = graph.post(
        f"communications/calls/{call_id}/redirect", json={"targets": [grace] * 26}
    )
    assert too_many.status_code == 400
    for timeout in (14, 91):
        short = graph.post(
            f"communications/calls/{call_id}/redirect",
            json={"targets": [grace], "timeout": timeout},
        )
        assert short.status_code == 400
    answered(graph, receiver, call_id)
    prompt = {"mediaInfo": {"uri": "https://portal.example/prompt.wav"}}
    many = graph.post(f"communications/calls/{call_id}/playPrompt", json={"prompts": [prompt] * 21})
    assert many.status_code == 400
    graph.delete(f"communications/calls/{call_id}")


def test_transfer_goes_to_an_available_person_who_is_then_in_a_call(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    set_presence(calls_sandbox, GRACE, "Available", "Available")
    call_id = incoming_call(calls_sandbox, receiver)
    answered(graph, receiver, call_id)
    response = graph.post(
        f"communications/calls/{call_id}/transfer",
        json={"transferTarget": {"identity": {"user": {"id": user_id(calls_sandbox, GRACE)}}}},
    )
    assert response.status_code == 202, response.text
    wait_until(lambda: "terminated" in states(receiver, call_id))
    assert states(receiver, call_id)[-3:] == ["transferring", "transferAccepted", "terminated"]
    last = notifications_of(receiver, call_id)[-1]["resourceData"]["resultInfo"]
    assert (last["code"], last["subcode"]) == (0, 7015)
    assert presence_of(calls_sandbox, GRACE) == ("Busy", "InACall")
    calls_sandbox.control("POST", f"/calls/{call_id}/hangup")
    assert presence_of(calls_sandbox, GRACE) == ("Available", "Available")


def test_a_busy_transfer_target_declines_and_the_call_stays(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    set_presence(calls_sandbox, SAMUEL, "Busy", "InAMeeting")
    call_id = incoming_call(calls_sandbox, receiver)
    answered(graph, receiver, call_id)
    graph.post(
        f"communications/calls/{call_id}/transfer",
        json={"transferTarget": {"identity": {"user": {"id": user_id(calls_sandbox, SAMUEL)}}}},
    )
    wait_until(lambda: states(receiver, call_id)[-2:] == ["transferring", "established"])
    back = [
        item["resourceData"]
        for item in notifications_of(receiver, call_id)
        if item["resourceUrl"].endswith(call_id)
    ][-1]
    assert back["resultInfo"]["code"] == 500
    graph.delete(f"communications/calls/{call_id}")


def test_redirect_rings_everyone_and_the_available_one_takes_it(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    set_presence(calls_sandbox, SAMUEL, "Away", "Away")
    set_presence(calls_sandbox, AIKO, "Available", "Available")
    call_id = incoming_call(calls_sandbox, receiver)
    targets = [
        {"identity": {"user": {"id": user_id(calls_sandbox, upn)}}} for upn in (SAMUEL, AIKO)
    ]
    answer = graph.post(
        f"communications/calls/{call_id}/redirect", json={"targets": targets, "timeout": 20}
    )
    assert answer.status_code == 202, answer.text
    wait_until(lambda: "terminated" in states(receiver, call_id))
    overview = calls_sandbox.control("GET", "/calls").json()
    call = next(c for c in overview["calls"] if c["id"] == call_id)
    assert call["connectedTo"] == user_id(calls_sandbox, AIKO)
    assert presence_of(calls_sandbox, AIKO) == ("Busy", "InACall")
    calls_sandbox.control("POST", f"/calls/{call_id}/hangup")


def test_outgoing_calls_follow_presence(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    set_presence(calls_sandbox, GRACE, "DoNotDisturb", "Presenting")
    declined = graph.post(
        "communications/calls",
        json={
            "callbackUri": receiver.url(WEBHOOK),
            "targets": [{"identity": {"user": {"id": user_id(calls_sandbox, GRACE)}}}],
            "requestedModalities": ["audio"],
            "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        },
    )
    assert declined.status_code == 201, declined.text
    assert declined.headers["Location"].endswith(declined.json()["id"])
    call_id = declined.json()["id"]
    wait_until(lambda: "terminated" in states(receiver, call_id))
    set_presence(calls_sandbox, GRACE, "Available", "Available")
    group = graph.post(
        "communications/calls",
        json={
            "callbackUri": receiver.url(WEBHOOK),
            "targets": [
                {"identity": {"user": {"id": user_id(calls_sandbox, GRACE)}}},
                {"identity": {"phone": {"id": "+447700900456"}}},
            ],
            "requestedModalities": ["audio"],
            "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        },
    )
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]
    wait_until(
        lambda: len(graph.get(f"communications/calls/{group_id}/participants").json()["value"]) == 3
    )
    roster = graph.get(f"communications/calls/{group_id}/participants").json()["value"]
    grace = next(p for p in roster if p["info"]["identity"].get("user"))
    muted = graph.post(f"communications/calls/{group_id}/participants/{grace['id']}/mute", json={})
    assert muted.status_code == 200
    refused = graph.delete(f"communications/calls/{group_id}/participants/{grace['id']}")
    assert refused.status_code == 403
    calls_sandbox.control("POST", "/calls/settings", {"allowRemoveParticipants": True})
    removed = graph.delete(f"communications/calls/{group_id}/participants/{grace['id']}")
    assert removed.status_code == 204
    calls_sandbox.control("POST", "/calls/settings", {"allowRemoveParticipants": False})
    assert presence_of(calls_sandbox, GRACE) == ("Available", "Available")
    graph.delete(f"communications/calls/{group_id}")


def test_a_call_without_keep_alive_ends_after_45_minutes(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    call_id = incoming_call(calls_sandbox, receiver)
    answered(graph, receiver, call_id)
    calls_sandbox.control("POST", "/clock", {"advance_seconds": 46 * 60})
    wait_until(lambda: "terminated" in states(receiver, call_id))
    result = notifications_of(receiver, call_id)[-1]["resourceData"]["resultInfo"]
    assert (result["code"], result["subcode"]) == (408, 8537)


def test_call_apis_refuse_delegated_tokens(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver
) -> None:
    with httpx.Client(
        base_url=calls_sandbox.graph_base_url + "/",
        verify=ca_context(calls_sandbox),
        trust_env=False,
    ) as client:
        answer = client.post("communications/calls", json={})
    assert answer.status_code == 401


def test_a_call_belongs_to_the_app_that_placed_it(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    other = bearer(app_token(calls_sandbox))
    placed = graph.post(
        "communications/calls",
        json={
            "callbackUri": receiver.url("/other-app"),
            "targets": [{"identity": {"phone": {"id": "+447700900999"}}}],
            "requestedModalities": ["audio"],
            "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        },
        headers=other,
    )
    assert placed.status_code == 201, placed.text
    call_id = placed.json()["id"]

    assert graph.get(f"communications/calls/{call_id}").status_code == 404
    assert graph.get(f"communications/calls/{call_id}", headers=other).status_code == 200
    posts = wait_until(lambda: receiver.posts_to("/other-app"))
    token = posts[0].headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == calls_sandbox.info["portal_client_id"]
    assert graph.delete(f"communications/calls/{call_id}", headers=other).status_code == 204


def test_the_control_api_times_callbacks_and_the_bots_answer(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    before = time.time()
    call_id = incoming_call(calls_sandbox, receiver)
    ringing = calls_sandbox.control("GET", "/calls").json()["calls"]
    assert next(c for c in ringing if c["id"] == call_id)["answerReceivedAt"] is None
    answered(graph, receiver, call_id)
    after = time.time()
    deliveries = calls_sandbox.control("GET", f"/calls/deliveries?callId={call_id}").json()
    created = next(
        d for d in deliveries["deliveries"] if d["body"]["value"][0]["changeType"] == "created"
    )
    calls = calls_sandbox.control("GET", "/calls").json()["calls"]
    answer_at = next(c for c in calls if c["id"] == call_id)["answerReceivedAt"]
    assert before <= created["postedAt"] <= answer_at <= after
