"""Graph's documented calls examples replayed against the sandbox: statuses, answers, callbacks.

Requests are sent as documented, with the documented bot's callback address and unknown
people swapped for the tenant's; answers and the callbacks the platform posts must have the
documented property names and JSON types. Known differences are spelled out where compared.
"""

# Fixtures are imported by name, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from tests.sandbox.calls.test_calls_api import (  # noqa: F401  (fixtures)
    GRACE,
    WEBHOOK,
    _webhook,
    answered,
    bot_token,
    calls_sandbox,
    graph,
    incoming_call,
    notifications_of,
    prompt_wav,
    receiver,
    set_presence,
    states,
    user_id,
    wait_until,
)
from tests.sandbox.conftest import app_token, ca_context, user_token_result
from tests.support.examples import load_example, shape_differences
from tests.support.sandbox import RunningSandbox
from tests.support.webhook_receiver import WebhookReceiver

DOCUMENTED_MEDIA = ("https://cdn.contoso.com/beep.wav", "https://cdn.contoso.com/cool.wav")


def served_media(receiver: WebhookReceiver) -> dict[str, str]:
    """Serve the documented prompts from the receiver; return their swaps, documented to ours."""
    swaps = {}
    for uri in DOCUMENTED_MEDIA:
        path = "/media/" + uri.rsplit("/", 1)[1]
        receiver.files[path] = (200, "audio/wav", prompt_wav())
        swaps[uri] = receiver.url(path)
    return swaps


def request_of(name: str, receiver: WebhookReceiver, **swaps: str) -> dict[str, Any]:
    """Return a documented request body, pointed at the receiver and the tenant's people.

    The documented prompts are served by the receiver: the platform fetches every prompt.
    """
    body: dict[str, Any] = copy.deepcopy(load_example(name)["request"] or {})
    if "callbackUri" in body:
        body["callbackUri"] = receiver.url(WEBHOOK)
    text = repr(body)
    for old in swaps:
        assert old in text, old
    return _swapped(body, {**served_media(receiver), **swaps})


def _swapped(value: Any, swaps: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _swapped(item, swaps) for key, item in value.items()}
    if isinstance(value, list):
        return [_swapped(item, swaps) for item in value]
    return swaps.get(value, value) if isinstance(value, str) else value


def callback_like(receiver: WebhookReceiver, call_id: str, check: Any) -> dict[str, Any]:
    # A recording runs its documented maximum (10 s in the example) before it completes.
    return wait_until(
        lambda: next((n for n in notifications_of(receiver, call_id) if check(n)), None),
        timeout=20.0,
    )


def _data(notification: dict[str, Any]) -> dict[str, Any]:
    data = notification["resourceData"]
    return data if isinstance(data, dict) else {}


def documented_callback(name: str) -> dict[str, Any]:
    return dict(load_example(name)["request"]["value"][0])


def test_create_call_example(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    example = load_example("calls-create-p2p-servicehosted.request.json")
    set_presence(calls_sandbox, GRACE, "Available", "Available")
    body = request_of(
        "calls-create-p2p-servicehosted.request.json",
        receiver,
        **{"112f7296-5fa4-42ca-bae8-6a692b15d4b8": user_id(calls_sandbox, GRACE)},
    )
    body["mediaConfig"] = _swapped(example["response"]["mediaConfig"], served_media(receiver))

    answer = graph.post("communications/calls", json=body)

    assert answer.status_code == example["status"]
    assert shape_differences(answer.json(), example["response"]) == []
    call_id = answer.json()["id"]
    establishing = callback_like(
        receiver, call_id, lambda n: _data(n).get("state") == "establishing"
    )
    established = callback_like(receiver, call_id, lambda n: _data(n).get("state") == "established")
    for ours, name in (
        (establishing, "callback-call-establishing.payload.json"),
        (established, "callback-call-established.payload.json"),
    ):
        assert shape_differences(ours, documented_callback(name)) == []
    graph.delete(f"communications/calls/{call_id}")


def test_incoming_answer_prompt_record_tone_and_delete_examples(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    answer = calls_sandbox.control(
        "POST", "/calls/incoming", {"from": {"user": user_id(calls_sandbox, GRACE)}}
    )
    call_id = answer.json()["id"]
    created = callback_like(receiver, call_id, lambda n: n["changeType"] == "created")
    documented = documented_callback("callback-call-incoming.payload.json")
    # The reception line's calls are to an application instance, the example's to the bot.
    del documented["resourceData"]["targets"]
    assert shape_differences(created, documented) == []

    example = load_example("calls-answer.request.json")
    response = graph.post(
        f"communications/calls/{call_id}/answer",
        json=request_of("calls-answer.request.json", receiver),
    )
    assert response.status_code == example["status"]
    wait_until(lambda: "established" in states(receiver, call_id))

    for name in ("calls-playprompt.request.json", "calls-recordresponse.request.json"):
        example = load_example(name)
        action = name.split("-")[1].split(".")[0]
        path = {"playprompt": "playPrompt", "recordresponse": "recordResponse"}[action]
        body = request_of(name, receiver)
        reply = graph.post(f"communications/calls/{call_id}/{path}", json=body)
        assert reply.status_code == example["status"], reply.text
        assert shape_differences(reply.json(), example["response"]) == []
        operation_id = reply.json()["id"]
        done = callback_like(
            receiver, call_id, lambda n, o=operation_id: n["resourceUrl"].endswith(o)
        )
        expected = documented_callback(
            name.replace("calls-", "callback-").replace(".request.json", "-completed.payload.json")
        )
        # Nothing is ever recorded here: no recording to fetch, so no location nor token.
        for key in ("recordingLocation", "recordingAccessToken"):
            if key in expected["resourceData"]:
                expected["resourceData"][key] = None
        assert shape_differences(done, expected) == []

    example = load_example("calls-subscribetotone.request.json")
    reply = graph.post(f"communications/calls/{call_id}/subscribeToTone", json=example["request"])
    assert reply.status_code == example["status"]
    assert shape_differences(reply.json(), example["response"]) == []
    calls_sandbox.control("POST", f"/calls/{call_id}/tones", {"tones": "1"})
    tone = callback_like(receiver, call_id, lambda n: _data(n).get("toneInfo"))
    assert shape_differences(tone, documented_callback("callback-tone.payload.json")) == []

    keep = load_example("calls-keepalive.request.json")
    assert graph.post(f"communications/calls/{call_id}/keepAlive").status_code == keep["status"]
    delete = load_example("calls-delete.request.json")
    assert graph.delete(f"communications/calls/{call_id}").status_code == delete["status"]
    terminated = callback_like(receiver, call_id, lambda n: _data(n).get("state") == "terminated")
    documented = documented_callback("callback-call-terminated.payload.json")
    # The delete page prints code and subcode as strings; the other pages as numbers.
    documented["resourceData"]["resultInfo"]["code"] = None
    documented["resourceData"]["resultInfo"]["subcode"] = None
    assert shape_differences(terminated, documented) == []


def test_reject_and_redirect_examples(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    call_id = incoming_call(calls_sandbox, receiver)
    example = load_example("calls-reject.request.json")
    reply = graph.post(f"communications/calls/{call_id}/reject", json=example["request"])
    assert reply.status_code == example["status"]
    deleted = callback_like(receiver, call_id, lambda n: n["changeType"] == "deleted")
    documented = documented_callback("callback-call-deleted-after-reject.payload.json")
    assert shape_differences(deleted, documented) == []

    for name in ("calls-redirect.request.json", "calls-redirect-pstn.request.json"):
        call_id = incoming_call(calls_sandbox, receiver)
        example = load_example(name)
        reply = graph.post(
            f"communications/calls/{call_id}/redirect", json=request_of(name, receiver)
        )
        assert reply.status_code == example["status"], reply.text
        wait_until(lambda c=call_id: "terminated" in states(receiver, c))
        calls_sandbox.control("POST", f"/calls/{call_id}/hangup")


def test_transfer_example(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    set_presence(calls_sandbox, GRACE, "Available", "Available")
    call_id = incoming_call(calls_sandbox, receiver)
    answered(graph, receiver, call_id)
    example = load_example("calls-transfer.request.json")
    body = request_of(
        "calls-transfer.request.json",
        receiver,
        **{"550fae72-d251-43ec-868c-373732c2704f": user_id(calls_sandbox, GRACE)},
    )

    reply = graph.post(f"communications/calls/{call_id}/transfer", json=body)

    assert reply.status_code == example["status"]
    done = callback_like(receiver, call_id, lambda n: _data(n).get("state") == "terminated")
    expected = documented_callback("callback-call-transfer-completed.payload.json")
    assert shape_differences(done, expected) == []
    calls_sandbox.control("POST", f"/calls/{call_id}/hangup")


def test_participant_examples(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    set_presence(calls_sandbox, GRACE, "Available", "Available")
    created = graph.post(
        "communications/calls",
        json={
            "callbackUri": receiver.url(WEBHOOK),
            "targets": [
                {"identity": {"user": {"id": user_id(calls_sandbox, GRACE)}}},
                {"identity": {"phone": {"id": "+447700900321"}}},
            ],
            "requestedModalities": ["audio"],
            "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        },
    )
    call_id = created.json()["id"]
    wait_until(
        lambda: len(graph.get(f"communications/calls/{call_id}/participants").json()["value"]) == 3
    )
    listed = graph.get(f"communications/calls/{call_id}/participants")
    example = load_example("calls-participants-list.response.json")
    assert listed.status_code == example["status"]
    assert shape_differences(listed.json(), example["response"]) == []

    grace = next(p for p in listed.json()["value"] if p["info"]["identity"].get("user"))
    example = load_example("calls-participants-mute.request.json")
    muted = graph.post(
        f"communications/calls/{call_id}/participants/{grace['id']}/mute", json=example["request"]
    )
    assert muted.status_code == example["status"]
    assert shape_differences(muted.json(), example["response"]) == []
    roster = callback_like(
        receiver,
        call_id,
        lambda n: (
            n["resourceUrl"].endswith("/participants")
            and any(p["isMuted"] for p in n["resourceData"])
        ),
    )
    # The example's roster shows the muted person only; ours lists the bot first.
    muted_only = {**roster, "resourceData": [p for p in roster["resourceData"] if p["isMuted"]]}
    expected = documented_callback("callback-roster-muted.payload.json")
    assert shape_differences(muted_only, expected) == []

    other = incoming_call(calls_sandbox, receiver)
    answered(graph, receiver, other)
    example = load_example("calls-participants-invite.request.json")
    body = request_of(
        "calls-participants-invite.request.json",
        receiver,
        **{
            "278405a3-f568-4b3e-b684-009193463064": user_id(calls_sandbox, GRACE),
            "a7ebfb2d-871e-419c-87af-27290b22e8db": other,
        },
    )
    invited = graph.post(f"communications/calls/{call_id}/participants/invite", json=body)
    assert invited.status_code == example["status"], invited.text
    assert shape_differences(invited.json(), example["response"]) == []

    calls_sandbox.control("POST", "/calls/settings", {"allowRemoveParticipants": True})
    try:
        example = load_example("calls-participants-delete.request.json")
        removed = graph.delete(f"communications/calls/{call_id}/participants/{grace['id']}")
        assert removed.status_code == example["status"]
    finally:
        calls_sandbox.control("POST", "/calls/settings", {"allowRemoveParticipants": False})
    graph.delete(f"communications/calls/{call_id}")


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("calldelegation-delegates-list.response.json", "delegates"),
        ("calldelegation-delegators-list-filter.response.json", "delegators"),
    ],
)
def test_call_delegation_examples(calls_sandbox: RunningSandbox, name: str, path: str) -> None:
    example = load_example(name)
    megan = "megan.reyes@lumenhall.example"
    daniel = "daniel.okafor@lumenhall.example"
    who = megan if path == "delegates" else daniel
    _, result = user_token_result(
        calls_sandbox, who, ["https://graph.microsoft.com/CallDelegation.Read"]
    )
    query = "?filter=allowedActions/receiveCalls eq true" if "filter" in name else ""
    with httpx.Client(verify=ca_context(calls_sandbox), trust_env=False) as client:
        answer = client.get(
            f"{calls_sandbox.info['beta_base_url']}/me/communications/callSettings/{path}{query}",
            headers={"Authorization": f"Bearer {result['access_token']}"},
        )
        app_only = client.get(
            f"{calls_sandbox.info['beta_base_url']}/users/{user_id(calls_sandbox, who)}"
            f"/communications/callSettings/{path}",
            headers={"Authorization": f"Bearer {app_token(calls_sandbox)}"},
        )

    assert answer.status_code == example["status"]
    assert answer.json()["value"]
    assert shape_differences(answer.json(), example["response"]) == []
    # Application permissions are not supported for call delegation.
    assert app_only.status_code == 403
