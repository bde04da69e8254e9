"""A big meeting's live roster: a crowd fills and empties a meeting while pages watch it.

The whole portal runs (ASGI server, Celery worker); the portal subscribes to the meeting's call
events as its upkeep does, websocket clients signed in as the organizer watch ``meeting:<id>``,
and the sandbox's meeting control API joins the crowd to the meeting and then takes them out,
as fast as it goes. Each join and leave is a rosterUpdated notification on the real path:
webhook, inbox, drain, the roster stored, the live topic, every page.

Each page keeps the roster as the meeting page's script does (a snapshot, then the numbered
changes in order) and every message it gets is read back afterwards: the time from each
join or leave control call to the first message on that page showing it, the version
numbers a page found skipped (where the browser would re-read the roster), and whether each
page ends with the meeting empty. Deliveries expected are the messages published on the
meeting's topic (counted by a subscriber of its own) times the pages; received, what the
pages got. Run alone with ``python -m tests.bench --only meeting-roster``.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import uvloop
from django.utils import timezone
from websockets.asyncio.client import ClientConnection

from accounts.identity import FEATURE_SCOPES, SIGN_IN_SCOPES
from comms_portal.notifications.models import Subscription
from comms_portal.redis_client import get_redis
from directory.models import Person
from meetings import handlers, services, watching
from meetings.models import Meeting
from meetings.topics import meeting_topic
from tests.bench.callrecords import cpu_seconds
from tests.bench.harness import BenchEnvironment, portal_running
from tests.bench.latency import (
    CONNECT_AT_ONCE,
    WatchingClient,
    group_cpu_seconds,
    open_watching_client,
)
from tests.bench.people import sign_in_over_http
from tests.bench.report import Section, summary_ms
from tests.support.cast import PRIYA
from tests.support.live import TopicInbox
from tests.support.portal_signin import sign_in_person

GOAL_ROSTER_P99_MS = 100
# Join and leave calls in flight at once: as fast as the sandbox takes them.
DRIVE_AT_ONCE = 8
SETTLE_SECONDS = 60.0
SUBSCRIBE_SECONDS = 30.0
# The broker's list of waiting tasks (Celery's default queue, on the portal's Redis).
CELERY_QUEUE = "celery"
ROW = "roster: join/leave notification to each page's roster"

COLUMNS = ["what", "size", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms", "goal", "outcome"]


@dataclass
class RosterPage:
    """One page watching the meeting: every message it got, stamped on arrival."""

    received: list[tuple[float, str]] = field(default_factory=list)
    empty: bool = False
    watching: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Step:
    """One join or leave asked of the sandbox."""

    action: str
    person_id: str
    sent_at: float = 0.0
    # When the sandbox made the change (its answer's ``changedAt``), on this clock.
    changed_at: float = 0.0
    status: int = 0


@dataclass
class PageScore:
    """What one page's messages showed, and when."""

    # Each change's first showing: when the page got it, and in which version.
    seen: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict)
    messages: int = 0
    gaps: int = 0
    stale: int = 0
    count_mismatches: int = 0
    ended_empty: bool = False


class TopicCounter:
    """Counts the messages published on a topic (and their bytes), read as they come."""

    def __init__(self, topic: str) -> None:
        self.inbox = TopicInbox(topic)
        self.messages = 0
        self.bytes = 0
        # When each version was read back from Redis: the split between the way to the
        # topic and the fan-out to the pages.
        self.published_at: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="roster-topic", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            message = self.inbox.pubsub.get_message(timeout=0.2)
            if message is not None and message["type"] == "message":
                heard = time.perf_counter()
                text = self.inbox.text_of(message["data"])
                self.messages += 1
                self.bytes += len(text.encode())
                version = json.loads(text).get("version")
                if isinstance(version, int):
                    self.published_at.setdefault(version, heard)

    def stop(self) -> None:
        time.sleep(0.5)
        self._stop.set()
        self._thread.join()
        self.inbox.close()


def _roster_listener(page: RosterPage) -> Any:
    async def listen(connection: ClientConnection, _client: WatchingClient) -> None:
        async for message in connection:
            arrived = time.perf_counter()
            text = str(message)
            if not page.watching.is_set():
                if '"watching"' in text:
                    page.watching.set()
                continue
            if '"roster' not in text:
                continue
            page.received.append((arrived, text))
            # Empty again once everyone has left: a cheap look, the full reading comes later.
            page.empty = '"count": 0' in text

    return listen


async def _drive_steps(control_url: str, graph_id: str, steps: list[Step]) -> float:
    """Send the joins and leaves in order, a few at a time; return the seconds it took."""
    gate = asyncio.Semaphore(DRIVE_AT_ONCE)
    # The sandbox stamps its change in Unix seconds; the pages' arrivals are perf_counter's.
    unix_minus_perf = time.time() - time.perf_counter()

    async def one(http: httpx.AsyncClient, step: Step) -> None:
        async with gate:
            step.sent_at = time.perf_counter()
            try:
                answer = await http.post(
                    f"/meetings/{graph_id}/{step.action}",
                    json={"userId": step.person_id, "brief": True},
                )
                step.status = answer.status_code
                changed = answer.json().get("changedAt") if answer.status_code == 200 else None
                if isinstance(changed, int | float):
                    step.changed_at = changed - unix_minus_perf
            except httpx.HTTPError:
                step.status = -1

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=control_url, timeout=60) as http:
        for action in ("join", "leave"):
            await asyncio.gather(*(one(http, s) for s in steps if s.action == action))
    return time.perf_counter() - started


@dataclass
class CpuUse:
    """CPU time (user and system) of each part from the first join sent to the pages settled.

    Wall-clock times stretch with the machine's load; CPU time per change does much less.
    """

    seconds: dict[str, float] = field(default_factory=dict)
    load_average: tuple[float, float] = (0.0, 0.0)


def _cpu_now(bench: BenchEnvironment, stack: Any) -> dict[str, float]:
    assert bench.sandbox is not None
    return {
        "sandbox": cpu_seconds(bench.sandbox.process.pid),
        "web": group_cpu_seconds(stack, "web"),
        "worker": group_cpu_seconds(stack, "worker"),
        # The pages' clients and the topic's counter: the benchmark's own share of the cores.
        "pages": cpu_seconds(),
    }


async def _watch_and_drive(
    bench: BenchEnvironment,
    stack: Any,
    meeting: Meeting,
    session: str,
    pages: list[RosterPage],
    steps: list[Step],
    cpu: CpuUse,
) -> float:
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    topic = meeting_topic(meeting.pk)
    opened = await asyncio.gather(
        *(
            open_watching_client(
                stack,
                WatchingClient(index, session, []),
                gate,
                topics=[topic],
                listen=_roster_listener(page),
            )
            for index, page in enumerate(pages)
        )
    )
    await asyncio.wait_for(asyncio.gather(*(page.watching.wait() for page in pages)), timeout=120)
    assert bench.sandbox is not None
    cpu_before = _cpu_now(bench, stack)
    load_before = os.getloadavg()[0]
    seconds = await _drive_steps(str(bench.sandbox.info["control_url"]), meeting.graph_id, steps)
    # Settled when every page was last told the meeting is empty (everyone left), or time is up.
    deadline = time.perf_counter() + SETTLE_SECONDS
    while time.perf_counter() < deadline:
        if all(page.empty for page in pages):
            break
        await asyncio.sleep(0.25)
    cpu_after = _cpu_now(bench, stack)
    cpu.seconds = {part: cpu_after[part] - cpu_before[part] for part in cpu_before}
    cpu.load_average = (load_before, os.getloadavg()[0])
    for connection, listener in opened:
        await connection.close()
        listener.cancel()
    return seconds


def score_page(page: RosterPage, start_version: int) -> PageScore:
    """Read a page's messages as its script would apply them: what it showed, and when."""
    score = PageScore()
    version = start_version
    ids: dict[str, str] = {}
    for arrived, text in page.received:
        message = json.loads(text)
        score.messages += 1
        if message["version"] <= version:
            score.stale += 1
            continue
        if message["type"] == "roster":
            now = {str(p["key"]): str(p["id"]).lower() for p in message["people"]}
            for key in set(ids) - set(now):
                score.seen.setdefault(("leave", ids[key]), (arrived, message["version"]))
            for key in set(now) - set(ids):
                score.seen.setdefault(("join", now[key]), (arrived, message["version"]))
            ids = now
        else:
            if message["version"] != version + 1:
                # The browser would read the whole roster here; the numbers that follow
                # still apply on top of what it holds.
                score.gaps += 1
            for key in message["left"]:
                person = ids.pop(str(key), None)
                if person is not None:
                    score.seen.setdefault(("leave", person), (arrived, message["version"]))
            for person in message["joined"]:
                ids[str(person["key"])] = str(person["id"]).lower()
                score.seen.setdefault(
                    ("join", str(person["id"]).lower()), (arrived, message["version"])
                )
            if message["count"] != len(ids):
                score.count_mismatches += 1
        version = message["version"]
    score.ended_empty = not ids
    return score


def subscribe_to_call_events(meeting: Meeting) -> None:
    """Have the portal subscribe to the meeting's call events, as its upkeep does.

    Meetings created earlier in the run queued the upkeep before the portal's web process
    listened, so Graph's validation of the notification URL may have failed and the meeting
    been set aside: that mark is cleared first.
    """
    deadline = time.monotonic() + SUBSCRIBE_SECONDS
    report: dict[str, int] = {}
    while time.monotonic() < deadline:
        get_redis().delete(f"{watching.PREFIX}{meeting.pk}")
        report = handlers.watch_meetings()
        held = Subscription.objects.of_kind(handlers.KIND)
        if any(meeting.pk in subscription.scope for subscription in held):
            return
        time.sleep(1)
    raise RuntimeError(f"the meeting's call events were not subscribed: {report}")


def wait_for_idle_worker() -> None:
    """Wait until the worker has taken every task queued before the portal ran.

    Meetings created earlier in the run (with no worker up) each queued the upkeep task;
    the worker runs them as it starts, and the drain of the roster's notifications should not
    compete with that leftover, which a running portal would have done long before.
    """
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline and get_redis().llen(CELERY_QUEUE):
        time.sleep(0.5)


def measure_live_roster(bench: BenchEnvironment, section: Section, organizer: Any) -> None:
    """Fill and empty a meeting through the sandbox while pages watch its roster."""
    sizes = bench.sizes
    crowd = list(
        Person.objects.visible()
        .order_by("pk")
        .values_list("graph_id", flat=True)[: sizes.meeting_people]
    )
    now = timezone.now()
    meeting = services.schedule_meeting(
        organizer=organizer,
        plan=services.MeetingPlan(
            subject="Bench all-hands",
            start=now,
            end=now + timedelta(hours=1),
            time_zone="Europe/London",
            invitees=[],
        ),
    )
    steps = [Step("join", person_id.lower()) for person_id in crowd] + [
        Step("leave", person_id.lower()) for person_id in crowd
    ]
    pages = [RosterPage() for _ in range(sizes.meeting_watchers)]
    counter = TopicCounter(meeting_topic(meeting.pk))
    cpu = CpuUse()
    try:
        with portal_running(bench, name="meetings") as stack:
            session = sign_in_over_http(stack, PRIYA)
            subscribe_to_call_events(meeting)
            wait_for_idle_worker()
            seconds = uvloop.run(
                _watch_and_drive(bench, stack, meeting, session, pages, steps, cpu)
            )
    finally:
        counter.stop()
    failed = sum(1 for s in steps if s.status != 200)
    sent = {(s.action, s.person_id): s.sent_at for s in steps if s.status == 200}
    # Timed from the change in the sandbox; a control call waits its turn there first (the
    # calls in flight at once), which is the driver's queue, not the way to the page.
    changed = {(s.action, s.person_id): s.changed_at or s.sent_at for s in steps if s.status == 200}
    latencies: list[float] = []
    from_call: list[float] = []
    upstream: list[float] = []
    fanout: list[float] = []
    shown = gaps = stale = mismatches = emptied = unseen = 0
    joins = [s.person_id for s in steps if s.action == "join" and s.status == 200]
    scores = [score_page(page, start_version=0) for page in pages]
    # The bench's own subscriber runs in a thread beside the pages and may read a message a
    # moment after a page had it: the message was on Redis by the first of the two.
    on_redis = dict(counter.published_at)
    for score in scores:
        for arrived, version in score.seen.values():
            if version in on_redis:
                on_redis[version] = min(on_redis[version], arrived)
    for index, score in enumerate(scores):
        # A join and its leave handled in one batch make no change at all: the page is
        # rightly never told of that person.
        unseen += 2 * sum(
            1
            for person in joins
            if ("join", person) not in score.seen and ("leave", person) not in score.seen
        )
        for key, at in changed.items():
            found = score.seen.get(key)
            if found is None or found[0] < at:
                continue
            arrived, version = found
            latencies.append(arrived - at)
            from_call.append(arrived - sent[key])
            shown += 1
            published = on_redis.get(version)
            if published is not None and index == 0:
                upstream.append(published - at)
            if published is not None:
                fanout.append(arrived - published)
        gaps += score.gaps
        stale += score.stale
        mismatches += score.count_mismatches
        emptied += score.ended_empty
    expected = counter.messages * len(pages)
    received = sum(len(page.received) for page in pages)
    changes_expected = len(sent) * len(pages)
    mean_bytes = counter.bytes / max(counter.messages, 1)
    stats = summary_ms(latencies)
    section.rows.append(
        {
            "what": ROW,
            "size": f"{len(crowd):,} people, {len(pages)} pages",
            "requests": stats["count"],
            "p50 ms": stats["p50_ms"],
            "p95 ms": stats["p95_ms"],
            "p99 ms": stats["p99_ms"],
            "max ms": stats["max_ms"],
            "goal": f"p99 <= {GOAL_ROSTER_P99_MS} ms",
            "outcome": (
                f"deliveries {received:,}/{expected:,} expected "
                f"({counter.messages:,} messages published, {mean_bytes:.0f} B each); "
                f"changes shown {shown:,}/{changes_expected:,} ({unseen:,} of a join and its "
                f"leave in one batch, rightly not shown); {gaps} gaps, "
                f"{mismatches} count mismatches; {emptied}/{len(pages)} pages ended empty; "
                f"{failed} control calls failed; {len(sent) / max(seconds, 1e-9):.0f} changes/s "
                "sent"
            ),
        }
    )
    section.details[ROW] = stats
    for what, durations in (
        ("roster: the same from sending the control call (its wait at the sandbox too)", from_call),
        (
            "roster: change to the message on Redis (sandbox's delivery, webhook, drain, database)",
            upstream,
        ),
        ("roster: message on Redis to each page (fan-out)", fanout),
    ):
        part = summary_ms(durations)
        section.rows.append(
            {
                "what": what,
                "size": "",
                "requests": part["count"],
                "p50 ms": part["p50_ms"],
                "p95 ms": part["p95_ms"],
                "p99 ms": part["p99_ms"],
                "max ms": part["max_ms"],
                "goal": "",
                "outcome": "",
            }
        )
        section.details[what] = part
    section.details["live_roster"] = {
        "people": len(crowd),
        "pages": len(pages),
        "steps_sent": len(sent),
        "steps_failed": failed,
        "drive_seconds": round(seconds, 2),
        "messages_published": counter.messages,
        "mean_message_bytes": round(mean_bytes),
        "deliveries_expected": expected,
        "deliveries_received": received,
        "changes_expected": changes_expected,
        "changes_shown": shown,
        "changes_within_one_batch": unseen,
        "version_gaps": gaps,
        "stale_messages": stale,
        "count_mismatches": mismatches,
        "pages_ended_empty": emptied,
        "cpu_ms_per_change": {
            part: round(used * 1000 / max(len(sent), 1), 2) for part, used in cpu.seconds.items()
        },
        "load_average": [round(load, 2) for load in cpu.load_average],
    }
    per_change = ", ".join(
        f"{part} {used * 1000 / max(len(sent), 1):.2f}" for part, used in cpu.seconds.items()
    )
    section.notes.append(
        f"roster, CPU per change sent (ms, from the first join sent to the pages settled): "
        f"{per_change}; load average {cpu.load_average[0]:.2f} then {cpu.load_average[1]:.2f}"
    )


def notes() -> list[str]:
    """Return how the live roster was measured, for the section's notes."""
    return [
        "roster, live: from the sandbox making each join/leave (the ``changedAt`` of its control "
        "call's answer; the sandbox then sends the rosterUpdated notification) to the first "
        "message on a page that shows the change, over every page; each message holds only "
        "what changed since the previous one (a drain batch's changes of a meeting in one "
        f"message); join/leave calls {DRIVE_AT_ONCE} in flight at once; every page is signed "
        "in as the organizer",
    ]


def run(bench: BenchEnvironment) -> Section:
    """Measure the live roster alone at the run's size."""
    section = Section(
        name="meeting-roster",
        title=f"A meeting's live roster (goal: p99 <= {GOAL_ROSTER_P99_MS} ms)",
        columns=COLUMNS,
    )
    organizer = sign_in_person(PRIYA, scopes=[*SIGN_IN_SCOPES, *FEATURE_SCOPES["meetings"]])
    measure_live_roster(bench, section, organizer)
    section.notes += notes()
    return section
