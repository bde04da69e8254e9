"""The platform fetches every prompt it is asked to play, and fails those it cannot play."""

# Fixtures are imported by name, so their parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from sandbox.calls.media import MAX_BYTES
from tests.sandbox.calls.test_calls_api import (  # noqa: F401  (fixtures)
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
    wait_until,
)
from tests.support.sandbox import RunningSandbox
from tests.support.webhook_receiver import WebhookReceiver


def play(graph: httpx.Client, call_id: str, *uris: str) -> dict[str, Any]:
    answer = graph.post(
        f"communications/calls/{call_id}/playPrompt",
        json={
            "clientContext": "greeting",
            "prompts": [{"mediaInfo": {"uri": uri}} for uri in uris],
        },
    )
    assert answer.status_code == 200, answer.text
    operation = dict(answer.json())
    # Graph answers at once with the running operation; fetching and playing come after.
    assert operation["status"] == "running" and operation["resultInfo"] is None
    return operation


def outcome(receiver: WebhookReceiver, call_id: str, operation_id: str) -> dict[str, Any]:
    """Wait for the callback that ends the operation, and return the operation it carries."""
    return dict(
        wait_until(
            lambda: next(
                (
                    item["resourceData"]
                    for item in notifications_of(receiver, call_id)
                    if item["resourceUrl"].endswith(f"/operations/{operation_id}")
                    and item["resourceData"]["status"] in ("completed", "failed")
                ),
                None,
            ),
            timeout=15.0,
        )
    )


def call_state(sandbox: RunningSandbox, call_id: str) -> str:
    calls = sandbox.control("GET", "/calls").json()["calls"]
    return str(next(call["state"] for call in calls if call["id"] == call_id))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_16khz_mono_wav_prompt_is_fetched_and_played(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    call_id = incoming_call(calls_sandbox, receiver)
    answered(graph, receiver, call_id)
    receiver.files["/media/welcome.wav"] = (200, "audio/wav", prompt_wav())

    operation = play(graph, call_id, receiver.url("/media/welcome.wav"))

    done = outcome(receiver, call_id, operation["id"])
    assert done["status"] == "completed"
    assert done["resultInfo"]["code"] == 200
    assert "/media/welcome.wav" in receiver.gets
    graph.delete(f"communications/calls/{call_id}")


@pytest.mark.parametrize(
    ("served", "reason"),
    [
        ((200, "text/html", b"<html>Welcome</html>"), "it is not a WAV file"),
        ((200, "audio/wav", prompt_wav(rate=44_100, channels=2)), "2 channel(s), 16-bit at 44100"),
        ((404, "text/plain", b"gone"), "fetching it answered 404"),
        ((200, "audio/wav", prompt_wav(seconds=MAX_BYTES / 32_000)), f"larger than {MAX_BYTES}"),
    ],
    ids=["not-audio", "stereo-44khz", "missing", "too-large"],
)
def test_a_prompt_the_platform_cannot_play_fails_the_operation_and_nothing_else(
    calls_sandbox: RunningSandbox,
    receiver: WebhookReceiver,
    graph: httpx.Client,
    served: tuple[int, str, bytes],
    reason: str,
) -> None:
    call_id = incoming_call(calls_sandbox, receiver)
    answered(graph, receiver, call_id)
    receiver.files["/media/good.wav"] = (200, "audio/wav", prompt_wav())
    receiver.files["/media/bad.wav"] = served
    bad = receiver.url("/media/bad.wav")

    operation = play(graph, call_id, receiver.url("/media/good.wav"), bad)

    done = outcome(receiver, call_id, operation["id"])
    assert done["status"] == "failed"
    assert done["clientContext"] == "greeting"
    info = done["resultInfo"]
    assert info["code"] == 400 and info["subcode"] == 0
    assert f"Prompt 2 ({bad})" in info["message"] and reason in info["message"]
    # The call goes on: still established, and a good prompt plays.
    assert call_state(calls_sandbox, call_id) == "established"
    again = play(graph, call_id, receiver.url("/media/good.wav"))
    assert outcome(receiver, call_id, again["id"])["status"] == "completed"
    graph.delete(f"communications/calls/{call_id}")


def test_a_prompt_on_a_host_nobody_answers_fails_the_operation(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    call_id = incoming_call(calls_sandbox, receiver)
    answered(graph, receiver, call_id)
    nowhere = f"http://127.0.0.1:{closed_port()}/media/welcome.wav"

    operation = play(graph, call_id, nowhere)

    done = outcome(receiver, call_id, operation["id"])
    assert done["status"] == "failed"
    assert "could not be fetched" in done["resultInfo"]["message"]
    assert call_state(calls_sandbox, call_id) == "established"
    graph.delete(f"communications/calls/{call_id}")


def test_prompts_over_plain_http_are_refused_unless_on_this_machine(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    call_id = incoming_call(calls_sandbox, receiver)
    answered(graph, receiver, call_id)

    refused = graph.post(
        f"communications/calls/{call_id}/playPrompt",
        json={"prompts": [{"mediaInfo": {"uri": "http://cdn.contoso.com/beep.wav"}}]},
    )

    assert refused.status_code == 400
    assert "https" in refused.json()["error"]["message"]
    graph.delete(f"communications/calls/{call_id}")


def test_prefetched_media_is_fetched_once_at_answer_and_played_from_the_cache(
    calls_sandbox: RunningSandbox, receiver: WebhookReceiver, graph: httpx.Client
) -> None:
    call_id = incoming_call(calls_sandbox, receiver)
    receiver.files["/media/prefetched.wav"] = (200, "audio/wav", prompt_wav())
    uri = receiver.url("/media/prefetched.wav")
    response = graph.post(
        f"communications/calls/{call_id}/answer",
        json={
            "callbackUri": receiver.url(WEBHOOK),
            "acceptedModalities": ["audio"],
            "mediaConfig": {
                "@odata.type": "#microsoft.graph.serviceHostedMediaConfig",
                "preFetchMedia": [{"uri": uri, "resourceId": "greeting"}],
            },
        },
    )
    assert response.status_code == 202, response.text
    wait_until(lambda: "/media/prefetched.wav" in receiver.gets)
    wait_until(lambda: call_state(calls_sandbox, call_id) == "established")

    first = play(graph, call_id, uri)
    assert outcome(receiver, call_id, first["id"])["status"] == "completed"
    second = play(graph, call_id, uri)
    assert outcome(receiver, call_id, second["id"])["status"] == "completed"

    assert receiver.gets.count("/media/prefetched.wav") == 1
    graph.delete(f"communications/calls/{call_id}")
