"""Calls: the reception line's answer time under load, routing by presence, the callback intake.

Three parts, each on the real services:

* Answer: the portal runs as deployed (ASGI server and Celery worker); the sandbox's calling
  platform rings the reception line at a steady rate and nobody presses a key, so the answered
  calls pile up in the menu. For each call, the portal's share is timed with the platform's
  own clocks: from when the platform posted the ``created`` callback to when the portal's
  ``answer`` request reached it (intake, queue, worker, Graph token, request). The simulated
  people's and prompts' delays are set low; they are not part of that span anyway.
* Routing: the routing decision called directly in this process for a team with presence
  for everyone in the store: members, presence, the Available member free longest. Timed as
  ``route`` makes it (from the store), and with a fresh Graph read of the team first.
* Intake: signed callbacks posted open-loop to the intake at a fixed rate. The token is a real
  one the platform signed (caught from one callback); each body names a different call, so no
  body is a replay. Reported: answer times, and whether every accepted body was queued.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import uuid
from datetime import time as clock_time
from typing import Any

import httpx
import uvloop

from calls import services
from calls.models import Call, MenuOption, ReceptionLine
from comms_portal.celery import app as celery_app
from comms_portal.notifications import inbox
from comms_portal.redis_client import get_redis
from comms_portal.stack import Stack
from directory.models import Person
from presence import store
from tests.bench.callrecords import cpu_seconds
from tests.bench.harness import BenchEnvironment, portal_running
from tests.bench.http_load import open_loop, post_request
from tests.bench.latency import group_cpu_seconds
from tests.bench.report import Section, summary_ms
from tests.bench.webhook import WARMUP_SECONDS, wait_for_empty_inbox
from tests.support.webhook_receiver import WebhookReceiver

INTAKE_PATH = "/graph/notifications/calls"
GOAL_ANSWER_P99_MS = 100
GOAL_ROUTING_P99_MS = 5
GOAL_INTAKE_P99_MS = 50
# The platform drops a call not answered within 15 s; wait a little longer for the last ones.
ANSWER_WAIT_SECONDS = 30.0
ROUTING_ROUNDS = 200
CATCH_UP_SECONDS = 120.0
# The simulated people and prompts answer at once: their delays are not the portal's.
FAST_PLATFORM = {"answerSeconds": 0.05, "promptSeconds": 0.05}

COLUMNS = ["what", "size", "count", "p50 ms", "p95 ms", "p99 ms", "max ms", "goal", "outcome"]


def _row(section: Section, what: str, size: str, durations: list[float], goal: str) -> None:
    stats = summary_ms(durations)
    section.rows.append(
        {
            "what": what,
            "size": size,
            "count": stats["count"],
            "p50 ms": stats["p50_ms"],
            "p95 ms": stats["p95_ms"],
            "p99 ms": stats["p99_ms"],
            "max ms": stats["max_ms"],
            "goal": goal,
            "outcome": "",
        }
    )
    section.details[what] = stats


def set_up_line(team: list[Person]) -> MenuOption:
    """Open a reception line around the clock with a menu of two keys; return the team key."""
    ReceptionLine.objects.all().delete()
    line = ReceptionLine.objects.create(
        opens_at=clock_time(0, 0), closes_at=clock_time(0, 0), open_days="0123456"
    )
    option = MenuOption.objects.create(line=line, digit="1", label="Team", kind="list")
    option.members.set(team)
    # A second key, so callers hear the menu and stay in it.
    MenuOption.objects.create(line=line, digit="9", label="Operator", kind="person")
    return option


# --- answer time under a steady rate of callers -------------------------------------------------


async def _ring(control_url: str, total: int, rate: float) -> list[str]:
    """Ring the line ``total`` times at ``rate`` a second, whatever the answers; return ids."""
    ids: list[str] = []

    async def one(http: httpx.AsyncClient, number: int) -> None:
        answer = await http.post(
            "/calls/incoming", json={"from": {"phone": f"+4477009{number:05d}"}}
        )
        answer.raise_for_status()
        ids.append(str(answer.json()["id"]))

    async with httpx.AsyncClient(base_url=control_url, timeout=30) as http:
        started = time.perf_counter()
        tasks = []
        for number in range(total):
            await asyncio.sleep(max(0.0, started + number / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(http, number)))
        await asyncio.gather(*tasks)
    return ids


def _calls_now(bench: BenchEnvironment) -> dict[str, dict[str, Any]]:
    assert bench.sandbox is not None
    overview = bench.sandbox.control("GET", "/calls").json()
    return {call["id"]: call for call in overview["calls"]}


def _in_menu(call: dict[str, Any]) -> bool:
    return call.get("state") == "established" and bool(call.get("toneSubscribed"))


def _cpu_now(bench: BenchEnvironment, stack: Stack | None) -> dict[str, float]:
    """Return the CPU seconds so far of the portal's worker and web processes and the sandbox."""
    assert bench.sandbox is not None
    spent = {"sandbox": cpu_seconds(bench.sandbox.process.pid)}
    if stack is not None:
        spent["worker"] = group_cpu_seconds(stack, "worker")
        spent["web"] = group_cpu_seconds(stack, "web")
    return spent


def measure_answers(bench: BenchEnvironment, section: Section, stack: Stack | None = None) -> None:
    """Ring the line at the run's rate; time each answer from the platform's own clocks."""
    assert bench.sandbox is not None
    sizes = bench.sizes
    total = int(sizes.calls_rate * sizes.calls_seconds)
    load_before = os.getloadavg()[0]
    cpu_before = _cpu_now(bench, stack)
    ids = uvloop.run(_ring(str(bench.sandbox.info["control_url"]), total, sizes.calls_rate))
    deadline = time.monotonic() + ANSWER_WAIT_SECONDS
    calls = _calls_now(bench)
    while time.monotonic() < deadline:
        calls = _calls_now(bench)
        if all(calls.get(call_id, {}).get("toneSubscribed") for call_id in ids):
            break
        time.sleep(0.25)
    in_menu = sum(1 for call_id in ids if _in_menu(calls.get(call_id, {})))
    # CPU time per call of each process at work, from the first ring to every call in the
    # menu: on a shared machine it says more than the wall-clock times.
    cpu_after = _cpu_now(bench, stack)
    cpu_ms_per_call = {
        name: round((cpu_after[name] - cpu_before[name]) * 1000 / max(1, total), 2)
        for name in cpu_after
    }
    load_after = os.getloadavg()[0]
    deliveries = bench.sandbox.control("GET", "/calls/deliveries").json()["deliveries"]
    posted: dict[str, float] = {}
    for delivery in deliveries:
        item = delivery["body"]["value"][0]
        if item["changeType"] == "created" and delivery["outcome"] == "delivered":
            posted.setdefault(delivery["callId"], delivery["postedAt"])
    shares = [
        calls[call_id]["answerReceivedAt"] - posted[call_id]
        for call_id in ids
        if call_id in posted and calls.get(call_id, {}).get("answerReceivedAt")
    ]
    _row(
        section,
        "incoming callback posted to answer request received",
        f"{sizes.calls_rate:g} calls/s for {sizes.calls_seconds:g} s",
        shares,
        f"p99 <= {GOAL_ANSWER_P99_MS} ms",
    )
    section.rows[-1]["outcome"] = (
        f"{len(shares)}/{total} answered; {in_menu} in the menu at once; CPU ms a call: "
        + ", ".join(f"{name} {ms:g}" for name, ms in cpu_ms_per_call.items())
        + f"; load {load_before:.1f} to {load_after:.1f}"
    )
    intake = [d["latencyMs"] / 1000 for d in deliveries if d["outcome"] == "delivered"]
    _row(
        section,
        "intake answer to the platform's callbacks",
        f"{len(deliveries)} callbacks",
        intake,
        "",
    )
    refused = sum(1 for d in deliveries if d["outcome"] != "delivered")
    section.rows[-1]["outcome"] = f"{refused} not delivered"
    section.details["answers"] = {
        "calls": total,
        "answered": len(shares),
        "in_menu_at_once": in_menu,
        "callbacks": len(deliveries),
        "not_delivered": refused,
        "cpu_ms_per_call": cpu_ms_per_call,
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "first_call": _first_call(deliveries, calls, posted),
    }
    first = section.details["answers"]["first_call"]
    if first:
        section.rows[-2]["outcome"] += (
            f"; the first call {first['answer_ms']:g} ms, {first['intake_ms']:g} of them the "
            "intake's answer"
        )
    # The callers hang up, so the next part starts on a quiet line.
    for call_id in ids:
        if calls.get(call_id, {}).get("state") not in (None, "terminated"):
            bench.sandbox.control("POST", f"/calls/{call_id}/hangup")


def _first_call(
    deliveries: list[dict[str, Any]], calls: dict[str, dict[str, Any]], posted: dict[str, float]
) -> dict[str, float]:
    """Split the first caller's wait: the intake's answer to its callback, and the rest."""
    answered = [c for c in posted if calls.get(c, {}).get("answerReceivedAt")]
    if not answered:
        return {}
    first = min(answered, key=lambda c: posted[c])
    intake_ms = next(
        d["latencyMs"]
        for d in deliveries
        if d["callId"] == first and d["body"]["value"][0]["changeType"] == "created"
    )
    answer_ms = (calls[first]["answerReceivedAt"] - posted[first]) * 1000
    return {
        "answer_ms": round(answer_ms, 1),
        "intake_ms": round(intake_ms, 1),
        "after_intake_ms": round(answer_ms - intake_ms, 1),
    }


# --- routing decision from the presence store -------------------------------------------------


def seed_presence(team: list[Person]) -> None:
    """Store presence for every member: a third Available, since various times."""
    chooser = random.Random("routing")
    now = time.time()
    states = []
    for person in team:
        availability = chooser.choice(("Available", "Busy", "Away"))
        states.append(
            store.PresenceState(
                person_id=person.graph_id,
                availability=availability,
                activity=availability,
                observed_at=now,
                changed_at=now - chooser.uniform(0, 3600),
                source="poll",
            )
        )
    store.apply_updates(states)


def _decide_from_store(option: MenuOption) -> Person | None:
    return services.choose_free_longest(option)


def _decide_from_graph(option: MenuOption) -> Person | None:
    members = services.members_of(option)
    return services.free_longest(members, services.fresh_presence(members))


def measure_routing(section: Section, option: MenuOption, rounds: int) -> None:
    """Time the routing decision for the option's team, from the store and as route() does."""
    size = option.members.count()
    for what, decide, count in (
        ("routing decision from the presence store", _decide_from_store, rounds),
        (
            "routing decision with a fresh Graph read of the team",
            _decide_from_graph,
            max(5, rounds // 10),
        ),
    ):
        decide(option)  # warm: connections, the bot's token
        durations = []
        chosen = None
        load_before = os.getloadavg()[0]
        cpu_before = time.process_time()
        for _ in range(count):
            started = time.perf_counter()
            chosen = decide(option)
            durations.append(time.perf_counter() - started)
        # This process's CPU time per decision (the wall-clock time adds waiting for a core
        # and for Redis).
        cpu_ms = (time.process_time() - cpu_before) * 1000 / count
        _row(section, what, f"team of {size}", durations, f"p99 <= {GOAL_ROUTING_P99_MS} ms")
        section.rows[-1]["outcome"] = (
            ("a member chosen" if chosen else "nobody chosen")
            + f"; CPU {cpu_ms:.2f} ms a decision; load {load_before:.1f} to "
            + f"{os.getloadavg()[0]:.1f}"
        )
        section.details[what]["cpu_ms_per_decision"] = round(cpu_ms, 3)


# --- the intake under a steady rate of signed callbacks ---------------------------------------


def catch_a_platform_token(bench: BenchEnvironment) -> tuple[str, dict[str, Any]]:
    """Return a bearer token the platform signed for a callback, and that callback's body."""
    assert bench.sandbox is not None
    with WebhookReceiver() as receiver:
        bench.sandbox.control(
            "POST", "/calls/webhook", json={"url": receiver.url("/token")}
        ).raise_for_status()
        bench.sandbox.control("POST", "/calls/incoming", json={"from": {"phone": "+447700900001"}})
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not receiver.posts_to("/token"):
            time.sleep(0.05)
        posts = receiver.posts_to("/token")
    if not posts:
        raise RuntimeError("the platform posted no callback to catch a token from")
    return posts[0].headers["Authorization"], posts[0].body


def callback_bodies(template: dict[str, Any], count: int) -> list[bytes]:
    """Return ``count`` state callbacks like ``template``, each about a call nobody holds."""
    text = json.dumps(template)
    old_id = template["value"][0]["resourceData"]["id"]
    bodies = []
    for _ in range(count):
        body = json.loads(text.replace(old_id, str(uuid.uuid4())))
        item = body["value"][0]
        item["changeType"] = "updated"
        item["resourceData"]["state"] = "established"
        bodies.append(json.dumps(body).encode())
    return bodies


def measure_intake(bench: BenchEnvironment, stack: Stack, section: Section) -> None:
    """Post signed callbacks at the run's rate; time the answers and count what was queued."""
    sizes = bench.sizes
    authorization, template = catch_a_platform_token(bench)
    warm = int(sizes.callback_rate * WARMUP_SECONDS)
    total = warm + int(sizes.callback_rate * sizes.callback_seconds)
    port = stack.config.web_port
    requests = [
        post_request("127.0.0.1", port, INTAKE_PATH, body, {"Authorization": authorization})
        for body in callback_bodies(template, total)
    ]
    before = get_redis().llen(inbox.INBOX_KEY)
    result = uvloop.run(
        open_loop(
            "127.0.0.1",
            port,
            requests,
            rate=sizes.callback_rate,
            seconds=sizes.callback_seconds,
            wanted_status=202,
            warmup_seconds=WARMUP_SECONDS,
        )
    )
    caught_up = wait_for_empty_inbox(CATCH_UP_SECONDS)
    celery_app.control.purge()
    get_redis().delete(inbox.INBOX_KEY)
    accepted = result.statuses.get(202, 0)
    other = {str(code): n for code, n in result.statuses.items() if code != 202}
    errors = sum(other.values()) + sum(result.errors.values())
    _row(
        section,
        "callback intake, signed callbacks open-loop",
        f"{sizes.callback_rate:g}/s for {sizes.callback_seconds:g} s",
        result.latencies,
        f"p99 <= {GOAL_INTAKE_P99_MS} ms, none lost",
    )
    section.rows[-1]["outcome"] = (
        f"{accepted}/{result.scheduled} accepted, {errors} refused or failed; inbox "
        + (f"drained {caught_up:.1f} s after" if caught_up is not None else "not drained in time")
    )
    section.details["intake"] = {
        "sent": result.scheduled,
        "accepted": accepted,
        "other_statuses": other,
        "client_errors": dict(result.errors),
        "inbox_before": before,
        "drained_after_s": caught_up,
        "connections": result.connections,
    }


def run(bench: BenchEnvironment) -> Section:
    """Measure the answer time, the routing decision and the intake; return the table."""
    assert bench.sandbox is not None
    sandbox = bench.sandbox
    sizes = bench.sizes
    section = Section(
        name="calls",
        title=(
            f"Calls: answer p99 <= {GOAL_ANSWER_P99_MS} ms, routing p99 <= "
            f"{GOAL_ROUTING_P99_MS} ms, intake p99 <= {GOAL_INTAKE_P99_MS} ms"
        ),
        columns=COLUMNS,
    )
    team = list(Person.objects.visible().order_by("pk")[: sizes.routing_team])
    option = set_up_line(team)
    Call.objects.all().delete()
    seed_presence(team)
    sandbox.control("POST", "/calls/settings", json=FAST_PLATFORM).raise_for_status()
    with portal_running(bench, name="calls") as stack:
        sandbox.control(
            "POST", "/calls/webhook", json={"url": f"{stack.base_url}{INTAKE_PATH}"}
        ).raise_for_status()
        measure_answers(bench, section, stack)
        measure_routing(section, option, ROUTING_ROUNDS)
        measure_intake(bench, stack, section)
    section.notes += [
        "answer: per call, from the platform posting the incoming call's 'created' callback to "
        "the portal's answer request reaching the platform (both stamped by the sandbox); "
        "nobody presses a key, so answered calls stay in the menu",
        "intake answer: the intake's answer time to each callback of those calls (token "
        "checked, replay refused, body queued), as the platform measured it",
        "routing: as route() decides (the team's ids, names and presence from the store, "
        "Graph only for people it lacks, the member free longest), and for comparison with a "
        "fresh getPresencesByUserId read of the whole team first; in this process",
        "callback intake: answer time counted from each request's scheduled send time, after "
        f"{WARMUP_SECONDS:g} s of the same traffic unrecorded; the Celery worker drains the "
        "inbox meanwhile on the same cores",
    ]
    return section
