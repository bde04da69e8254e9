"""Change-to-browser latency: a presence change in the sandbox to the websocket message.

The whole portal runs (ASGI server, Celery worker, no beat) on the 10,000-person sandbox.
Signed-in owners' subscriptions cover a pool of people; many websocket clients, each signed in
with a real session cookie, watch a deterministic sample of that pool. The driver forces
presence changes through the sandbox's control API at a steady rate, and every client stamps
receipt with ``time.perf_counter`` in this same process. The path measured is the real one:
sandbox notification -> webhook -> Celery task (verify, decrypt, store) -> Redis PUBLISH ->
each ASGI process's fan-out -> consumer -> socket. The first arrival of each change is also
reported, which splits the time into the way to the portal and the fan-out to every page.

It runs once per fan-out of the live channel (``LIVE_FANOUT``: our own, and Channels' pub/sub
layer), same load, side by side; after the changes it cuts the portal's Redis pub/sub
connections (``CLIENT KILL TYPE pubsub``) and times until every page was told to resync.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as redis_async
import uvloop
from websockets.asyncio.client import ClientConnection, connect

from comms_portal.live.consumer import RESYNC_TEXT
from comms_portal.stack import Stack
from directory.models import Person
from presence.topics import presence_topic
from tests.bench.floor import measure_floor
from tests.bench.harness import BenchEnvironment, portal_running
from tests.bench.people import (
    sign_in_over_http,
    tasks_in_hand,
    wait_for_coverage,
    wait_for_empty_queue,
    wait_for_quiet_worker,
)
from tests.bench.report import Section, percentile, summary_ms
from tests.support.cast import AIKO, GRACE, LENA, MARCUS, PRIYA, SAMUEL, TOMAS

OWNERS = (PRIYA, TOMAS, GRACE, SAMUEL, AIKO, LENA, MARCUS)
PER_SUBSCRIPTION = 650
GOAL_P99_MS = 100
CONNECT_AT_ONCE = 50
SNAPSHOT_AT_ONCE = 8
SETTLE_SECONDS = 15.0
# How long every page may take to be told to resync after the pub/sub connections are cut.
RESYNC_SECONDS = 60.0
# How long all clients may take to connect and be told "watching".
WATCHING_SECONDS = 900.0
# The fan-outs of the live channel, measured side by side (LIVE_FANOUT).
FANOUTS = ("portal", "channels")
COVERAGE_SECONDS = 120.0
# How long the worker may take to finish its start-up work (the first call-records heal
# over Graph's 30 days is hundreds of tasks) before the measurement begins.
QUIET_SECONDS = 900.0
# What a Teams client reports, cycled so every change is also a change of availability.
CHANGES = (
    ("Busy", "InACall"),
    ("Available", "Available"),
    ("DoNotDisturb", "Presenting"),
    ("Away", "Away"),
    ("Busy", "InAMeeting"),
    ("BeRightBack", "BeRightBack"),
)


@dataclass
class WatchingClient:
    """One browser stand-in: who it watches and what it received, stamped on arrival."""

    index: int
    session: str
    watched: list[str]
    received: list[tuple[float, str]] = field(default_factory=list)
    watching: asyncio.Event = field(default_factory=asyncio.Event)
    resynced_at: float | None = None


@dataclass
class Change:
    """One forced presence change."""

    number: int
    person_id: str
    sent_at: float = 0.0
    status: int = 0


def pool_of_people(size: int) -> list[str]:
    """Return the first ``size`` people of the wall, the pool clients watch."""
    return list(Person.objects.visible().order_by("pk").values_list("graph_id", flat=True)[:size])


def draw_watch_lists(pool: Sequence[str], clients: int, watch: int) -> list[list[str]]:
    """Return each client's people: a deterministic sample of the pool per client."""
    return [random.Random(f"client-{index}").sample(list(pool), watch) for index in range(clients)]


def mark_watched(stack: Stack, clients: list[WatchingClient]) -> None:
    """Ask the snapshot endpoint for each client's people, as the wall does when it opens."""

    def ask(client: WatchingClient) -> None:
        with httpx.Client(base_url=stack.base_url, timeout=60) as http:
            answer = http.get(
                "/people/api/presence",
                params={"ids": ",".join(client.watched)},
                cookies={"sessionid": client.session},
            )
            answer.raise_for_status()

    with ThreadPoolExecutor(SNAPSHOT_AT_ONCE) as pool:
        list(pool.map(ask, clients))


async def _listen(connection: ClientConnection, client: WatchingClient) -> None:
    async for message in connection:
        client.received.append((time.perf_counter(), str(message)))
        if not client.watching.is_set() and '"watching"' in str(message):
            client.watching.set()
        elif client.resynced_at is None and message == RESYNC_TEXT:
            client.resynced_at = time.perf_counter()


async def open_watching_client(
    stack: Stack,
    client: WatchingClient,
    gate: asyncio.Semaphore,
    topics: list[str] | None = None,
    listen: Callable[[ClientConnection, WatchingClient], Any] | None = None,
) -> tuple[ClientConnection, asyncio.Task[None]]:
    """Connect ``client``, start listening (``listen``, or keeping every message), and watch
    ``topics`` (or the presence of the people the client watches)."""
    ws_url = stack.base_url.replace("http://", "ws://") + "/ws/live/"
    async with gate:
        connection = await connect(
            ws_url,
            origin=stack.base_url,  # type: ignore[arg-type]
            additional_headers={"Cookie": f"sessionid={client.session}"},
            ping_interval=None,
            open_timeout=60,
            max_queue=None,
        )
    listener = asyncio.create_task((listen or _listen)(connection, client))
    if topics is None:
        topics = [presence_topic(person_id) for person_id in client.watched]
    await connection.send(json.dumps({"type": "watch", "topics": topics}))
    return connection, listener


async def _change(
    http: httpx.AsyncClient, change: Change, tag: str, availability: tuple[str, str]
) -> None:
    body = {
        "availability": availability[0],
        "activity": availability[1],
        "statusMessage": f"bench {tag} {change.number}",
    }
    change.sent_at = time.perf_counter()
    try:
        answer = await http.post(f"/presence/{change.person_id}", json=body)
        change.status = answer.status_code
    except httpx.HTTPError:
        change.status = -1


async def _drive(
    control_url: str, changes: list[Change], tag: str, rate: float
) -> tuple[float, float]:
    """Fire the changes at fixed times, whatever the answers; return the first and last send."""
    async with httpx.AsyncClient(base_url=control_url, timeout=30) as http:
        started = time.perf_counter()
        tasks = []
        for change in changes:
            due = started + change.number / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            pair = CHANGES[change.number % len(CHANGES)]
            tasks.append(asyncio.create_task(_change(http, change, tag, pair)))
        await asyncio.gather(*tasks)
    return started, time.perf_counter()


@dataclass
class LatencyRun:
    """What one run measured."""

    name: str
    fanout: str = "portal"
    connect_seconds: float = 0.0
    floor: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    fan_out: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    spread: list[float] = field(default_factory=list)
    expected: int = 0
    delivered: int = 0
    late: int = 0
    failed_changes: int = 0
    changes: int = 0
    drive_seconds: float = 0.0
    resync_pages: int = 0
    resync_told: int = 0
    resync_seconds: float | None = None
    # The worker's own work waited out before measuring (task name -> times seen), how long
    # that took, and what the worker had in hand when the changes began (drains aside).
    startup_tasks: dict[str, int] = field(default_factory=dict)
    quiet_wait_seconds: float = 0.0
    tasks_at_start: list[str] = field(default_factory=list)
    # CPU time the worker (every process of its group) spent from the clients watching to
    # the end of the changes' deliveries: the drains' cost, which the machine's load does not
    # stretch as it stretches wall-clock times.
    worker_cpu_seconds: float = 0.0


def group_cpu_seconds(stack: Stack, name: str) -> float:
    """Return the CPU time (user and system) of the processes in a started child's group."""
    child = next(child for child in stack.supervisor.children if child.name == name)
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process has gone
        # After the command name: state, ppid, pgrp, ..., utime and stime are fields 11, 12.
        if int(fields[2]) == child.pgid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def score(run: LatencyRun, clients: list[WatchingClient], changes: list[Change], tag: str) -> None:
    watchers: dict[str, list[int]] = defaultdict(list)
    for client in clients:
        for person_id in client.watched:
            watchers[person_id].append(client.index)
    marker = f"bench {tag} "
    by_number = {change.number: change for change in changes}
    arrivals: dict[tuple[int, int], float] = {}
    for client in clients:
        for received_at, raw in client.received:
            if marker not in raw:
                continue
            message = json.loads(raw)
            presence = message.get("presence") or {}
            text = str(presence.get("status_message", ""))
            if message.get("type") != "presence" or not text.startswith(marker):
                continue
            number = int(text[len(marker) :])
            arrivals.setdefault((client.index, number), received_at)
    fan_out: dict[int, float] = {}
    first: dict[int, float] = {}
    delivered: list[tuple[int, float]] = []
    for change in changes:
        if change.status != 200:
            run.failed_changes += 1
            continue
        for index in watchers[change.person_id]:
            run.expected += 1
            arrived = arrivals.get((index, change.number))
            if arrived is None:
                continue
            run.delivered += 1
            latency = arrived - by_number[change.number].sent_at
            run.latencies.append(latency)
            run.late += latency > GOAL_P99_MS / 1000
            fan_out[change.number] = max(fan_out.get(change.number, 0.0), latency)
            first[change.number] = min(first.get(change.number, latency), latency)
            delivered.append((change.number, latency))
    run.fan_out = list(fan_out.values())
    run.first = list(first.values())
    # What the way to the portal cannot explain: each delivery after its change's first one.
    run.spread = [latency - first[number] for number, latency in delivered]


async def measure_clients(
    bench: BenchEnvironment,
    stack: Stack,
    clients: list[WatchingClient],
    run: LatencyRun,
    *,
    when_watching: Callable[[], None] | None = None,
) -> list[Change]:
    """Open every client, drive the changes, wait for their deliveries, then cut and resync."""
    sizes = bench.sizes
    pool = sorted({person_id for client in clients for person_id in client.watched})
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    started = time.perf_counter()
    opened = await asyncio.gather(
        *(open_watching_client(stack, client, gate) for client in clients)
    )
    await asyncio.wait_for(
        asyncio.gather(*(client.watching.wait() for client in clients)), timeout=WATCHING_SECONDS
    )
    run.connect_seconds = time.perf_counter() - started
    stack.supervisor.say(
        "bench", f"{len(clients):,} clients watching after {run.connect_seconds:.1f} s"
    )
    if when_watching is not None:
        when_watching()
    run.floor = await measure_floor(bench.redis_url, sizes.floor_samples)

    chooser = random.Random(f"changes-{run.name}")
    total = int(sizes.change_rate * sizes.change_seconds)
    changes = [Change(number, chooser.choice(pool)) for number in range(total)]
    assert bench.sandbox is not None
    # The clients' own garbage collection (their inboxes grow to tens of thousands of
    # messages) would pause them all at once and show up as the portal's latency.
    gc.collect()
    gc.disable()
    stack.supervisor.say("bench", f"driving {len(changes)} changes")
    try:
        first, last = await _drive(
            str(bench.sandbox.info["control_url"]), changes, run.name, sizes.change_rate
        )
        await _settle(clients, changes, run.name)
    finally:
        gc.enable()
    run.drive_seconds = last - first
    run.changes = len(changes)
    await cut_and_wait_for_resync(bench.redis_url, clients, run)
    for connection, listener in opened:
        await connection.close()
        listener.cancel()
    return changes


async def cut_and_wait_for_resync(
    redis_url: str, clients: list[WatchingClient], run: LatencyRun
) -> None:
    """Cut the portal's pub/sub connections; time until every page was told to resync."""
    redis = redis_async.Redis.from_url(redis_url)
    try:
        cut_at = time.perf_counter()
        await redis.client_kill_filter(_type="pubsub", skipme=True)
        deadline = cut_at + RESYNC_SECONDS
        while time.perf_counter() < deadline:
            if all(client.resynced_at is not None for client in clients):
                break
            await asyncio.sleep(0.05)
    finally:
        await redis.aclose()
    told = [client.resynced_at for client in clients if client.resynced_at is not None]
    run.resync_pages = len(clients)
    run.resync_told = len(told)
    if len(told) == len(clients):
        run.resync_seconds = max(told) - cut_at


async def _settle(clients: list[WatchingClient], changes: list[Change], name: str) -> None:
    """Wait until every expected delivery arrived, or the settle time is up."""
    watch_count = Counter(person_id for client in clients for person_id in client.watched)
    expected = sum(watch_count[change.person_id] for change in changes)
    deadline = time.perf_counter() + SETTLE_SECONDS
    marker = f'"bench {name} '
    # Counting scans every message received so far; the last changes' deliveries are left
    # to arrive first, so the count does not delay them.
    await asyncio.sleep(1.0)
    while time.perf_counter() < deadline:
        arrived = sum(1 for client in clients for _, raw in client.received if marker in raw)
        if arrived >= expected:
            return
        await asyncio.sleep(0.5)


def measure(bench: BenchEnvironment, owners: Sequence[str], fanout: str) -> LatencyRun:
    """Start the portal on ``fanout`` and measure it end to end."""
    sizes = bench.sizes
    run = LatencyRun(name=f"latency-{fanout}", fanout=fanout)
    with portal_running(bench, name=run.name, extra_env={"LIVE_FANOUT": fanout}) as stack:
        sessions = [sign_in_over_http(stack, upn) for upn in owners]
        pool = pool_of_people(sizes.ws_pool)
        lists = draw_watch_lists(pool, sizes.ws_clients, sizes.ws_watch)
        clients = [
            WatchingClient(index, sessions[index % len(sessions)], watched)
            for index, watched in enumerate(lists)
        ]
        mark_watched(stack, clients)
        subscriptions = wait_for_coverage(pool, timeout=COVERAGE_SECONDS)
        wait_for_empty_queue(timeout=COVERAGE_SECONDS)
        stack.supervisor.say("bench", f"{len(subscriptions)} presence subscriptions cover the pool")
        # Measured on a quiet worker: its start-up work (every kind's subscription upkeep, the
        # first call-records heal) would otherwise share the two cores with the drain.
        begun = time.perf_counter()
        run.startup_tasks = wait_for_quiet_worker(timeout=QUIET_SECONDS)
        run.quiet_wait_seconds = time.perf_counter() - begun
        stack.supervisor.say(
            "bench", f"worker quiet after {run.quiet_wait_seconds:.1f} s: {run.startup_tasks}"
        )

        cpu_at_start = 0.0

        def note_tasks_at_start() -> None:
            nonlocal cpu_at_start
            run.tasks_at_start = [name for name in tasks_in_hand() if name != "notifications.drain"]
            cpu_at_start = group_cpu_seconds(stack, "worker")

        changes = uvloop.run(
            measure_clients(bench, stack, clients, run, when_watching=note_tasks_at_start)
        )
        run.worker_cpu_seconds = group_cpu_seconds(stack, "worker") - cpu_at_start
        score(run, clients, changes, run.name)
    return run


def row(run: LatencyRun, clients: int) -> dict[str, Any]:
    """Return the table row of one run."""
    stats = summary_ms(run.latencies)
    floor = summary_ms(run.floor)
    floor_p99 = percentile(run.floor, 99)
    ours_p99 = percentile(run.latencies, 99)
    return {
        "fan-out": run.fanout,
        "clients": clients,
        "changes": run.changes,
        "delivered": f"{run.delivered:,}/{run.expected:,}",
        "late": run.late,
        "p50 ms": stats["p50_ms"],
        "p95 ms": stats["p95_ms"],
        "p99 ms": stats["p99_ms"],
        "max ms": stats["max_ms"],
        "first p50 ms": summary_ms(run.first)["p50_ms"],
        "first p99 ms": summary_ms(run.first)["p99_ms"],
        "fan-out p99 ms": summary_ms(run.fan_out)["p99_ms"],
        "spread p50 ms": summary_ms(run.spread)["p50_ms"],
        "spread p99 ms": summary_ms(run.spread)["p99_ms"],
        "floor p99 ms": floor["p99_ms"],
        "p99 / floor p99": round(ours_p99 / floor_p99, 1) if ours_p99 and floor_p99 else None,
        "resynced": f"{run.resync_told:,}/{run.resync_pages:,}",
        "resync s": None if run.resync_seconds is None else round(run.resync_seconds, 2),
    }


def details(run: LatencyRun) -> dict[str, Any]:
    """Return everything one run measured, for the JSON file."""
    return {
        "latency": summary_ms(run.latencies),
        "first_arrival": summary_ms(run.first),
        "fan_out": summary_ms(run.fan_out),
        "spread": summary_ms(run.spread),
        "floor": summary_ms(run.floor),
        "expected": run.expected,
        "delivered": run.delivered,
        "late": run.late,
        "failed_changes": run.failed_changes,
        "connect_and_watch_seconds": round(run.connect_seconds, 1),
        "drive_seconds": round(run.drive_seconds, 1),
        "resync_pages": run.resync_pages,
        "resync_told": run.resync_told,
        "resync_seconds": run.resync_seconds,
    }


def worker_details(run: LatencyRun) -> dict[str, Any]:
    """Return what the worker did before and during the measurement, for the JSON file."""
    return {
        "startup_tasks_waited_out": run.startup_tasks,
        "quiet_wait_seconds": round(run.quiet_wait_seconds, 1),
        "tasks_at_start": run.tasks_at_start,
        "worker_cpu_seconds": round(run.worker_cpu_seconds, 2),
    }


COLUMNS = [
    "fan-out",
    "clients",
    "changes",
    "delivered",
    "late",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "max ms",
    "first p50 ms",
    "first p99 ms",
    "fan-out p99 ms",
    "spread p50 ms",
    "spread p99 ms",
    "floor p99 ms",
    "p99 / floor p99",
    "resynced",
    "resync s",
]
NOTES = [
    "latency: from just before the control call that changes presence in the sandbox to "
    "each watching client's receipt; it includes the sandbox's own notification delivery",
    f"late: deliveries that took longer than the goal ({GOAL_P99_MS} ms)",
    "first: per change, until the first watching client had it (the way to the portal)",
    "fan-out: per change, until the last watching client had it",
    "spread: per delivery, how long after its change's first arrival it came: the fan-out's "
    "own share, which the way to the portal (sandbox, webhook, worker) does not touch",
    "floor: one Redis PUBLISH to one websocket echo in this process, same run",
    "resync: after the changes, the portal's Redis pub/sub connections are cut (CLIENT KILL "
    "TYPE pubsub); pages told to resync, and the time until the last one was",
]
WORKER_NOTES = [
    "measured on a quiet worker: its start-up work (every kind's subscription upkeep and the "
    "first call-records heal over Graph's 30 days) is waited out first; the details list it",
    "worker CPU ms/change: CPU time of the Celery worker's processes (verify, decrypt, store, "
    "publish, and the drain's own bookkeeping) from the clients watching to the end of the "
    "deliveries, per change; the machine's load stretches it far less than wall-clock times",
]


def run(bench: BenchEnvironment) -> Section:
    """Measure change-to-browser latency on each fan-out of the live channel."""
    sizes = bench.sizes
    owners_needed = -(-sizes.ws_pool // PER_SUBSCRIPTION) + 1
    owners = OWNERS[: min(len(OWNERS), owners_needed)]
    section = Section(
        name="latency",
        title=f"Change-to-browser latency (goal: p99 under {GOAL_P99_MS} ms)",
        columns=[*COLUMNS, "worker CPU ms/change"],
    )
    for fanout in FANOUTS:
        measured = measure(bench, owners, fanout)
        cpu_per_change = measured.worker_cpu_seconds * 1000 / max(measured.changes, 1)
        section.rows.append(
            {**row(measured, sizes.ws_clients), "worker CPU ms/change": round(cpu_per_change, 2)}
        )
        section.details[fanout] = {**details(measured), **worker_details(measured)}
    section.notes += [
        f"{sizes.ws_clients:,} websocket clients x {sizes.ws_watch} watched people, drawn from a "
        f"pool of {sizes.ws_pool:,} covered by {len(owners)} signed-in owners' subscriptions; "
        f"{sizes.change_rate:g} changes/s for {sizes.change_seconds:g} s, per fan-out",
        "fan-out: portal = our own per-process fan-out; channels = channels_redis's "
        "RedisPubSubChannelLayer (LIVE_FANOUT)",
        *NOTES,
        *WORKER_NOTES,
    ]
    return section
