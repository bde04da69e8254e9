"""Calls: the reception line under a burst of simultaneous callers, on the whole portal.

The portal runs as deployed (ASGI server and Celery worker); the sandbox's calling platform
posts its signed callbacks to the portal's intake. A burst of callers rings the reception line
at once; each presses 1, whose team is as many Available people as there are callers. Reported:
how long the portal took to answer (the platform drops a call not answered in 15 s), from the
key to the transfer, how many calls reached a person (the rest were offered a call back), and
the intake's answer time to the platform's callbacks.
"""

from __future__ import annotations

import time
from datetime import time as clock_time
from typing import Any

from calls.models import Call, MenuOption, ReceptionLine
from directory.models import Person
from tests.bench.harness import QUICK, BenchEnvironment, portal_running
from tests.bench.report import Section, summary_ms

QUICK_CALLERS = 5
FULL_CALLERS = 25
WAIT_SECONDS = 60.0


def _sandbox_calls(bench: BenchEnvironment) -> dict[str, dict[str, Any]]:
    assert bench.sandbox is not None
    overview = bench.sandbox.control("GET", "/calls").json()
    return {call["id"]: call for call in overview["calls"]}


def _wait_for(
    bench: BenchEnvironment, ids: list[str], done: Any, started: float
) -> dict[str, float]:
    """Return, for each call, the seconds from ``started`` until ``done(call)`` held."""
    reached: dict[str, float] = {}
    deadline = time.monotonic() + WAIT_SECONDS
    while len(reached) < len(ids) and time.monotonic() < deadline:
        calls = _sandbox_calls(bench)
        now = time.monotonic()
        for call_id in ids:
            if call_id not in reached and done(calls.get(call_id, {})):
                reached[call_id] = now - started
        time.sleep(0.02)
    return reached


def _set_up_line(team: list[Person]) -> None:
    ReceptionLine.objects.all().delete()
    line = ReceptionLine.objects.create(
        opens_at=clock_time(0, 0), closes_at=clock_time(0, 0), open_days="0123456"
    )
    option = MenuOption.objects.create(line=line, digit="1", label="Team", kind="list")
    option.members.set(team)
    # A second key, so callers hear the menu and press 1.
    MenuOption.objects.create(line=line, digit="9", label="Operator", kind="person")


def run(bench: BenchEnvironment) -> Section:
    """Ring the reception line with a burst of callers and return the table."""
    assert bench.sandbox is not None
    sandbox = bench.sandbox
    callers = QUICK_CALLERS if bench.sizes is QUICK else FULL_CALLERS
    section = Section(
        name="calls",
        title=f"Reception line: {callers} callers at once (the platform drops calls after 15 s)",
        columns=[
            "callers",
            "answered",
            "answer p50 ms",
            "answer p95 ms",
            "answer max ms",
            "routed to a person",
            "key to transfer p50 ms",
            "key to transfer p95 ms",
            "callback answer p50 ms",
            "callback answer p99 ms",
        ],
    )
    team = list(Person.objects.visible().exclude(department="").order_by("pk")[:callers])
    _set_up_line(team)
    Call.objects.all().delete()
    for person in team:
        sandbox.control(
            "POST",
            f"/presence/{person.graph_id}",
            json={"availability": "Available", "activity": "Available"},
        ).raise_for_status()
    sandbox.control(
        "POST", "/calls/settings", json={"answerSeconds": 0.5, "promptSeconds": 0.5}
    ).raise_for_status()
    with portal_running(bench, name="calls") as stack:
        sandbox.control(
            "POST", "/calls/webhook", json={"url": f"{stack.base_url}/graph/notifications/calls"}
        ).raise_for_status()
        started = time.monotonic()
        ids = [
            sandbox.control(
                "POST", "/calls/incoming", json={"from": {"phone": f"+4477009{n:05d}"}}
            ).json()["id"]
            for n in range(callers)
        ]
        answered = _wait_for(bench, ids, lambda c: c.get("toneSubscribed"), started)
        pressed = time.monotonic()
        for call_id in answered:
            sandbox.control("POST", f"/calls/{call_id}/tones", json={"tones": "1"})
        ended = _wait_for(bench, list(answered), lambda c: c.get("state") == "terminated", pressed)
        calls = _sandbox_calls(bench)
        transferred = {
            call_id: seconds
            for call_id, seconds in ended.items()
            if calls[call_id].get("connectedTo")
        }
        for call_id in transferred:
            sandbox.control("POST", f"/calls/{call_id}/hangup")
        deliveries = sandbox.control("GET", "/calls/deliveries").json()["deliveries"]
    latencies = [d["latencyMs"] / 1000 for d in deliveries if d["outcome"] == "delivered"]
    answer = summary_ms(list(answered.values()))
    transfer = summary_ms(list(transferred.values()))
    intake = summary_ms(latencies)
    section.rows.append(
        {
            "callers": callers,
            "answered": len(answered),
            "answer p50 ms": answer["p50_ms"],
            "answer p95 ms": answer["p95_ms"],
            "answer max ms": answer["max_ms"],
            "routed to a person": len(transferred),
            "key to transfer p50 ms": transfer["p50_ms"],
            "key to transfer p95 ms": transfer["p95_ms"],
            "callback answer p50 ms": intake["p50_ms"],
            "callback answer p99 ms": intake["p99_ms"],
        }
    )
    section.details.update(
        {
            "answer": answer,
            "key_to_transfer": transfer,
            "callback_answers": intake,
            "callbacks": len(deliveries),
            "not_delivered": sum(1 for d in deliveries if d["outcome"] != "delivered"),
        }
    )
    section.notes += [
        "answer: from the incoming call until the portal had answered, greeted and listened for "
        "keys (the platform's subscribeToTone); it includes the platform's 0.2 s to establish "
        "the call and the worker's Graph calls",
        "key to transfer: from the key until the platform ended the bot's leg after a transfer "
        "to an Available member (0.5 s of it the member's simulated answer); callers not "
        "routed were offered a call back, as when two routes pick the same free person",
        "callback answer: the intake's answer time to each signed callback (token checked, "
        "body queued), as the platform measured it; the first one also reads the platform's "
        "signing keys",
    ]
    return section
