"""The presence simulator: deterministic per seed, driven by the control API, fast at scale."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import app_token, bearer, ca_context, user_token_result
from tests.sandbox.presence.conftest import READ_ALL, in_minutes
from tests.support.cast import MEGAN
from tests.support.sandbox import RunningSandbox, start_sandbox
from tests.support.webhook_receiver import (
    WebhookReceiver,
    decrypt_notification_content,
    make_subscriber_certificate,
)

SEED = 7
MORNING = "2025-03-04T08:00:00Z"


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RunningSandbox]]:
    """Two sandboxes of the same seed, simulator off, both at the same simulated moment."""
    running = [
        start_sandbox(Path(tmp_path_factory.mktemp(f"twin-{n}")), seed=SEED) for n in range(2)
    ]
    try:
        for sandbox in running:
            answer = sandbox.control("POST", "/presence/pause", json={"at": MORNING})
            assert answer.status_code == 200, answer.text
        yield running
    finally:
        for sandbox in running:
            sandbox.stop()


def state(sandbox: RunningSandbox) -> dict[str, Any]:
    response = sandbox.control("GET", "/presence/state")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def visible(sandbox: RunningSandbox) -> list[tuple[Any, ...]]:
    """Return what readers see of everyone, without the times that differ between runs."""
    return [
        (
            person["id"],
            person["availability"],
            person["activity"],
            (person["statusMessage"] or {}).get("message"),
            person["outOfOfficeSettings"]["isOutOfOffice"],
            person["workLocation"]["workLocationType"],
        )
        for person in state(sandbox)["people"]
    ]


def step(sandbox: RunningSandbox, minutes: float) -> dict[str, Any]:
    answer = sandbox.control("POST", "/presence/step", json={"minutes": minutes})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_same_seed_gives_the_same_day(twins: list[RunningSandbox]) -> None:
    first, second = twins
    seen_states: set[tuple[str, str]] = set()
    out_of_office = messages = 0
    for minutes in (90, 180, 120, 600):  # 09:30, 12:30, 14:30, 00:30 the next day
        assert step(first, minutes)["simulatedTime"] == step(second, minutes)["simulatedTime"]
        ours, theirs = visible(first), visible(second)
        assert ours == theirs
        seen_states |= {(person[1], person[2]) for person in ours}
        out_of_office += sum(person[4] for person in ours)
        messages += sum(person[3] is not None for person in ours)
    # A lively day: meetings, calls, lunch, after-work offline, messages, out of office.
    assert {("Busy", "InAMeeting"), ("Busy", "InACall"), ("Available", "Available")} <= seen_states
    assert {("Away", "Away"), ("Offline", "Offline")} <= seen_states
    assert out_of_office > 0 and messages > 0


def test_pause_resume_and_step_move_simulated_time(twins: list[RunningSandbox]) -> None:
    sandbox = twins[0]
    paused = sandbox.control("POST", "/presence/pause", json={}).json()
    time.sleep(0.3)
    assert state(sandbox)["simulator"]["simulatedTime"] == paused["simulatedTime"]
    stepped = step(sandbox, 30)
    assert stepped["simulatedTime"] > paused["simulatedTime"]
    resumed = sandbox.control("POST", "/presence/resume", json={"speed": 1200})
    assert resumed.status_code == 200 and resumed.json()["running"] is True
    time.sleep(0.5)
    running = sandbox.control("POST", "/presence/pause", json={}).json()
    assert running["running"] is False
    # At 1200x, half a second of real time is about ten simulated minutes.
    moved = _seconds(running["simulatedTime"]) - _seconds(stepped["simulatedTime"])
    assert 5 * 60 <= moved <= 60 * 60


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/presence/step", {"minutes": 0}),
        ("/presence/step", {"minutes": "ten"}),
        ("/presence/step", {}),
        ("/presence/pause", {"at": "yesterday"}),
        ("/presence/resume", {"speed": -1}),
    ],
)
def test_bad_control_requests_are_refused(
    twins: list[RunningSandbox], path: str, body: dict[str, Any]
) -> None:
    before = state(twins[0])["simulator"]
    answer = twins[0].control("POST", path, json=body)
    assert answer.status_code == 400 and answer.json()["error"]
    assert state(twins[0])["simulator"] == before


def test_forcing_checks_the_state_and_the_person(twins: list[RunningSandbox]) -> None:
    sandbox = twins[1]
    person = state(sandbox)["people"][0]["id"]
    unknown_pair = sandbox.control(
        "POST", f"/presence/{person}", json={"availability": "Busy", "activity": "Away"}
    )
    assert unknown_pair.status_code == 400
    nobody = sandbox.control(
        "POST",
        "/presence/00000000-0000-4000-8000-000000000000",
        json={"availability": "Busy", "activity": "InACall"},
    )
    assert nobody.status_code == 404
    oof = {
        "availability": "Busy",
        "activity": "InACall",
        "statusMessage": "Dialled in from the airport",
        "outOfOffice": {"isOutOfOffice": True, "message": "Travelling until Friday"},
    }
    forced = sandbox.control("POST", f"/presence/{person}", json=oof)
    assert forced.status_code == 200, forced.text
    shown = forced.json()
    assert (shown["availability"], shown["activity"]) == ("Busy", "InACall")
    assert shown["outOfOfficeSettings"] == {
        "isOutOfOffice": True,
        "message": "Travelling until Friday",
    }
    assert shown["statusMessage"]["message"]["content"] == "Dialled in from the airport"


def test_simulated_changes_are_notified(twins: list[RunningSandbox]) -> None:
    sandbox = twins[0]
    at_work = sandbox.control("POST", "/presence/pause", json={"at": "2025-03-05T10:00:00Z"})
    assert at_work.status_code == 200, at_work.text
    certificate = make_subscriber_certificate()
    people = [person["id"] for person in state(sandbox)["people"][:40]]
    _, result = user_token_result(sandbox, MEGAN, list(READ_ALL))
    token = result["access_token"]
    with (
        WebhookReceiver() as receiver,
        httpx.Client(
            base_url=sandbox.graph_base_url + "/", verify=ca_context(sandbox), trust_env=False
        ) as graph,
    ):
        resource = (
            "communications/presences?$filter=id in ("
            + ",".join(f"'{one}'" for one in people)
            + ")"
        )
        created = graph.post(
            "subscriptions",
            headers=bearer(token),
            json={
                "changeType": "updated",
                "notificationUrl": receiver.url("/simulated"),
                "resource": resource,
                "expirationDateTime": in_minutes(sandbox, 30),
                "includeResourceData": True,
                "encryptionCertificate": certificate.base64_der,
                "encryptionCertificateId": "simulated",
            },
        )
        assert created.status_code == 201, created.text
        before = {p["id"]: p["sequenceNumber"] for p in state(sandbox)["people"][:40]}
        step(sandbox, 45)
        after = {p["id"]: p["sequenceNumber"] for p in state(sandbox)["people"][:40]}
        changed = {one for one in people if after[one] != before[one]}
        assert changed
        receiver.wait_for(
            lambda: len(receiver.notifications("/simulated")) >= len(changed),
            what="one notification per changed person",
        )
        contents = [
            decrypt_notification_content(note["encryptedContent"], certificate.private_key)
            for note in receiver.notifications("/simulated")
        ]
        assert {content["id"] for content in contents} == changed
        assert {content["sequenceNumber"] for content in contents} == {
            after[one] for one in changed
        }


def test_twenty_thousand_people_start_with_the_simulator_on_and_answer_bulk_reads(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # How fast it starts and answers is the benchmark's to measure, not this test's.
    sandbox = start_sandbox(
        Path(tmp_path_factory.mktemp("twenty-thousand")), users=20_000, simulate=True
    )
    try:
        body = state(sandbox)
        assert body["simulator"]["running"] is True and body["simulator"]["people"] == 20_000
        ids = [person["id"] for person in body["people"][:650]]
        token = app_token(sandbox)
        with httpx.Client(
            base_url=sandbox.graph_base_url + "/", verify=ca_context(sandbox), trust_env=False
        ) as graph:
            answer = graph.post(
                "communications/getPresencesByUserId", headers=bearer(token), json={"ids": ids}
            )
            assert answer.status_code == 200, answer.text
            assert {one["id"] for one in answer.json()["value"]} == set(ids)
        # The simulated morning is under way: most people are signed in to Teams.
        signed_in = sum(person["teamsClient"] is not None for person in state(sandbox)["people"])
        assert signed_in > 10_000
    finally:
        sandbox.stop()
