"""Meetings: what a person waits for, a big meeting's roster live, and the attendance pages.

* Create: the schedule form posted and the meeting's page rendered, measured inside the process
  with Django's test ``Client`` (the full middleware stack, the database, Redis) against the
  run's sandbox over HTTPS, next to the same Graph call (POST me/onlineMeetings) made directly
  to the sandbox with the organizer's token: the difference is the portal's own overhead.
  Meet now (createOrGet), lookup by meeting ID and My meetings are timed the same way.
* Live roster: the whole portal runs (ASGI server, Celery worker); the portal subscribes to
  the meeting's call events as its upkeep does, websocket clients signed in as the organizer
  watch ``meeting:<id>``, and the sandbox's meeting control API joins a crowd to the meeting
  and then takes them out, as fast as it goes. Each join and leave is a rosterUpdated
  notification on the real path: webhook, inbox, drain, the roster stored, the live topic,
  every page. Timed from the control call to each page's first roster showing the change.
* Attendance: a report of many people as a page and as streamed CSV.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import uvloop
from django.test import Client
from django.utils import timezone
from websockets.asyncio.client import ClientConnection

from accounts.graph_clients import UserTokens
from accounts.identity import FEATURE_SCOPES, SIGN_IN_SCOPES
from comms_portal.graph.http import build_http_client
from comms_portal.graph.meetings import CallEvent, attendee_json, meeting_body
from comms_portal.graph_settings import portal_graph_settings
from comms_portal.notifications.models import Subscription
from comms_portal.redis_client import get_redis
from directory.models import Person
from meetings import handlers, services, watching
from meetings.models import AttendanceRecord, AttendanceReport, Meeting
from meetings.topics import meeting_topic
from tests.bench.harness import BenchEnvironment, portal_running
from tests.bench.latency import CONNECT_AT_ONCE, WatchingClient, open_watching_client
from tests.bench.people import sign_in_over_http
from tests.bench.report import Section, percentile, summary_ms
from tests.support.cast import PRIYA, TOMAS
from tests.support.live import TopicInbox
from tests.support.portal_signin import sign_in_person

GOAL_CREATE_OVERHEAD_P95_MS = 50
GOAL_ROSTER_P99_MS = 100
GOAL_ATTENDANCE_P95_MS = 200
# Join and leave calls in flight at once: as fast as the sandbox takes them.
DRIVE_AT_ONCE = 8
SETTLE_SECONDS = 60.0
SUBSCRIBE_SECONDS = 30.0
# Pages whose every roster is read back to time each change (the others count messages).
SCORED_PAGES = 3

# What ``--part`` may choose: creating and the other quick pages, the live roster, attendance.
PARTS = ("create", "roster", "attendance")

COLUMNS = ["what", "size", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms", "goal", "outcome"]


def _row(
    section: Section,
    what: str,
    durations: list[float],
    size: int | str = "",
    goal: str = "",
    outcome: str = "",
) -> None:
    stats = summary_ms(durations)
    section.rows.append(
        {
            "what": what,
            "size": size,
            "requests": stats["count"],
            "p50 ms": stats["p50_ms"],
            "p95 ms": stats["p95_ms"],
            "p99 ms": stats["p99_ms"],
            "max ms": stats["max_ms"],
            "goal": goal,
            "outcome": outcome,
        }
    )
    section.details[what] = stats


def _timed(
    client: Client,
    method: str,
    path: str,
    data: dict[str, str] | None = None,
    *,
    follow: bool = False,
) -> float:
    started = time.perf_counter()
    if method == "POST":
        response = client.post(path, data or {}, follow=follow)
    else:
        response = client.get(path, data or {})
    if response.status_code not in (200, 302):
        raise RuntimeError(f"{method} {path} answered {response.status_code}")
    if hasattr(response, "streaming_content"):
        for _ in response.streaming_content:
            pass
    return time.perf_counter() - started


def _first_message(inbox: TopicInbox, timeout: float = 5.0) -> None:
    """Wait for the next message published on the inbox's topic."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        message = inbox.pubsub.get_message(timeout=0.5)
        if message is not None and message["type"] == "message":
            return
    raise RuntimeError("the roster message did not reach the live topic")


# --- creating a meeting: the portal next to the sandbox's own answer ----------------------------


def measure_create(
    section: Section,
    client: Client,
    organizer: Any,
    form: dict[str, str],
    invitee: Person,
    requests: int,
) -> None:
    """Create meetings through the portal and directly at the sandbox, alternately."""
    tokens = UserTokens(organizer.pk, [*SIGN_IN_SCOPES, *FEATURE_SCOPES["meetings"]])
    direct_body = meeting_body(
        subject=form["subject"],
        start=timezone.now() + timedelta(days=1),
        end=timezone.now() + timedelta(days=1, minutes=30),
        attendees=[attendee_json(invitee.graph_id, invitee.user_principal_name)],
        lobby_scope=form["lobby_scope"],
        allowed_presenters=form["allowed_presenters"],
    )
    portal: list[float] = []
    direct: list[float] = []
    with build_http_client(portal_graph_settings()) as graph:
        for _ in range(requests):
            portal.append(_timed(client, "POST", "/meetings/new/", form, follow=True))
            headers = {"Authorization": f"Bearer {tokens()}"}
            started = time.perf_counter()
            answer = graph.post("me/onlineMeetings", json=direct_body, headers=headers)
            direct.append(time.perf_counter() - started)
            if answer.status_code != 201:
                raise RuntimeError(f"POST me/onlineMeetings answered {answer.status_code}")
    overhead = {
        name: round(
            (percentile(portal, q) or 0.0) * 1000 - (percentile(direct, q) or 0.0) * 1000, 2
        )
        for name, q in (("p50", 50), ("p95", 95))
    }
    _row(section, "create: POST /meetings/new/ to rendered page", portal)
    _row(
        section,
        "create: same Graph call direct to the sandbox",
        direct,
        outcome="POST me/onlineMeetings, organizer's token",
    )
    within = overhead["p95"] <= GOAL_CREATE_OVERHEAD_P95_MS
    _row(
        section,
        "create: portal overhead (portal minus direct)",
        [],
        goal=f"p95 <= {GOAL_CREATE_OVERHEAD_P95_MS} ms",
        outcome=(
            f"p50 {overhead['p50']} ms, p95 {overhead['p95']} ms: "
            + ("within the goal" if within else "over the goal")
        ),
    )
    section.details["create_overhead_ms"] = overhead


# --- a big meeting's roster, live ---------------------------------------------------------------


@dataclass
class RosterPage:
    """One page watching the meeting: each message's arrival, and the rosters of scored ones."""

    scored: bool
    arrivals: list[float] = field(default_factory=list)
    rosters: list[tuple[float, str]] = field(default_factory=list)
    last: str = ""
    watching: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Step:
    """One join or leave asked of the sandbox."""

    action: str
    person_id: str
    sent_at: float = 0.0
    status: int = 0


def _roster_listener(page: RosterPage) -> Any:
    async def listen(connection: ClientConnection, _client: WatchingClient) -> None:
        async for message in connection:
            arrived = time.perf_counter()
            text = str(message)
            if not page.watching.is_set():
                if '"watching"' in text:
                    page.watching.set()
                continue
            if '"roster"' not in text:
                continue
            page.arrivals.append(arrived)
            page.last = text
            if page.scored:
                page.rosters.append((arrived, text))

    return listen


async def _drive_steps(control_url: str, graph_id: str, steps: list[Step]) -> float:
    """Send the joins and leaves in order, a few at a time; return the seconds it took."""
    gate = asyncio.Semaphore(DRIVE_AT_ONCE)

    async def one(http: httpx.AsyncClient, step: Step) -> None:
        async with gate:
            step.sent_at = time.perf_counter()
            try:
                answer = await http.post(
                    f"/meetings/{graph_id}/{step.action}", json={"userId": step.person_id}
                )
                step.status = answer.status_code
            except httpx.HTTPError:
                step.status = -1

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=control_url, timeout=60) as http:
        for action in ("join", "leave"):
            await asyncio.gather(*(one(http, s) for s in steps if s.action == action))
    return time.perf_counter() - started


async def _watch_and_drive(
    bench: BenchEnvironment,
    stack: Any,
    meeting: Meeting,
    session: str,
    pages: list[RosterPage],
    steps: list[Step],
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
    seconds = await _drive_steps(str(bench.sandbox.info["control_url"]), meeting.graph_id, steps)
    # Settled when every page's last roster is empty again (everyone left), or time is up.
    deadline = time.perf_counter() + SETTLE_SECONDS
    while time.perf_counter() < deadline:
        if all(_is_empty(page.last) for page in pages):
            break
        await asyncio.sleep(0.25)
    for connection, listener in opened:
        await connection.close()
        listener.cancel()
    return seconds


def _is_empty(text: str) -> bool:
    return '"people": []' in text or '"people":[]' in text


def _score(page: RosterPage, steps: list[Step]) -> tuple[list[float], int]:
    """Return the time from each step to the page's first roster showing it, and how many."""
    sent = {(s.action, s.person_id): s.sent_at for s in steps if s.status == 200}
    seen: dict[tuple[str, str], float] = {}
    previous: set[str] = set()
    for arrived, text in page.rosters:
        people = {str(one["id"]).lower() for one in json.loads(text).get("people", [])}
        for person_id in people - previous:
            seen.setdefault(("join", person_id), arrived)
        for person_id in previous - people:
            seen.setdefault(("leave", person_id), arrived)
        previous = people
    latencies = [seen[key] - at for key, at in sent.items() if key in seen and seen[key] >= at]
    return latencies, sum(1 for key in sent if key in seen)


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
    pages = [RosterPage(scored=index < SCORED_PAGES) for index in range(sizes.meeting_watchers)]
    with portal_running(bench, name="meetings") as stack:
        session = sign_in_over_http(stack, PRIYA)
        subscribe_to_call_events(meeting)
        seconds = uvloop.run(_watch_and_drive(bench, stack, meeting, session, pages, steps))
    failed = sum(1 for s in steps if s.status != 200)
    latencies: list[float] = []
    changes_seen = 0
    for page in pages:
        if page.scored:
            measured, seen = _score(page, steps)
            latencies += measured
            changes_seen += seen
    sent = len(steps) - failed
    expected = sent * len(pages)
    received = sum(len(page.arrivals) for page in pages)
    emptied = sum(1 for page in pages if _is_empty(page.last))
    _row(
        section,
        "roster: join/leave notification to each page's roster",
        latencies,
        size=f"{len(crowd):,} people, {len(pages)} pages",
        goal=f"p99 <= {GOAL_ROSTER_P99_MS} ms",
        outcome=(
            f"roster messages {received:,}/{expected:,} expected; changes shown on scored "
            f"pages {changes_seen:,}/{sent * min(SCORED_PAGES, len(pages)):,}; "
            f"{emptied}/{len(pages)} pages ended empty; {failed} control calls failed; "
            f"{sent / max(seconds, 1e-9):.0f} changes/s sent"
        ),
    )
    section.details["live_roster"] = {
        "people": len(crowd),
        "pages": len(pages),
        "scored_pages": min(SCORED_PAGES, len(pages)),
        "steps_sent": sent,
        "steps_failed": failed,
        "drive_seconds": round(seconds, 2),
        "messages_expected": expected,
        "messages_received": received,
        "changes_shown_on_scored_pages": changes_seen,
        "pages_ended_empty": emptied,
    }


# --- attendance ------------------------------------------------------------------------------


def measure_attendance(
    section: Section, client: Client, meeting: Meeting, size: int, rounds: int
) -> None:
    """An attendance report of ``size`` people, each with two stretches: page and CSV."""
    people = list(Person.objects.order_by("pk").values_list("graph_id", "display_name")[:size])
    start = timezone.now() - timedelta(hours=2)
    report = AttendanceReport.objects.create(
        meeting=meeting,
        graph_id="bench-report",
        started_at=start,
        ended_at=start + timedelta(hours=1),
        participant_count=len(people),
        records_rolled_up=True,
    )
    AttendanceRecord.objects.bulk_create(
        AttendanceRecord(
            report=report,
            graph_id=graph_id,
            display_name=name,
            email=f"{graph_id}@example.org",
            role="Attendee",
            total_seconds=1800,
            intervals=[
                [
                    (start + timedelta(minutes=index % 30)).isoformat(),
                    (start + timedelta(minutes=index % 30 + 15)).isoformat(),
                    900,
                ],
                [
                    (start + timedelta(minutes=45)).isoformat(),
                    (start + timedelta(minutes=60)).isoformat(),
                    900,
                ],
            ],
        ).roll_up()  # as a report read from Graph is stored
        for index, (graph_id, name) in enumerate(people)
    )
    Meeting.objects.filter(pk=meeting.pk).update(reports_synced_at=timezone.now())
    _row(
        section,
        "attendance page (table + SVG)",
        [
            _timed(client, "GET", f"/meetings/{meeting.pk}/attendance/", {"report": str(report.pk)})
            for _ in range(rounds)
        ],
        size=len(people),
        goal=f"p95 <= {GOAL_ATTENDANCE_P95_MS} ms",
    )
    _row(
        section,
        "attendance CSV, streamed",
        [
            _timed(client, "GET", f"/meetings/{meeting.pk}/attendance/{report.pk}.csv")
            for _ in range(rounds)
        ],
        size=len(people),
    )


def run(bench: BenchEnvironment) -> Section:
    """Measure the meetings pages, the live roster and attendance at the run's size."""
    sizes = bench.sizes
    section = Section(
        name="meetings",
        title=(
            f"Meetings (goals: create overhead p95 <= {GOAL_CREATE_OVERHEAD_P95_MS} ms, roster "
            f"p99 <= {GOAL_ROSTER_P99_MS} ms, attendance page p95 <= {GOAL_ATTENDANCE_P95_MS} ms)"
        ),
        columns=COLUMNS,
    )
    organizer = sign_in_person(PRIYA, scopes=[*SIGN_IN_SCOPES, *FEATURE_SCOPES["meetings"]])
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(organizer)
    tomas = Person.objects.get(user_principal_name=TOMAS)
    requests = sizes.wall_requests
    tomorrow = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%d")

    form = {
        "subject": "Bench meeting",
        "day": tomorrow,
        "start_time": "10:00",
        "end_time": "10:30",
        "time_zone": "Europe/London",
        "invitees": tomas.graph_id,
        "lobby_scope": "organization",
        "allowed_presenters": "everyone",
    }
    parts = set(bench.parts) or set(PARTS)
    unknown = parts - set(PARTS)
    if unknown:
        raise ValueError(f"meetings has no part {sorted(unknown)}; its parts are {PARTS}")
    if "create" in parts:
        measure_create(section, client, organizer, form, tomas, requests)
        measure_pages(section, client, tomas, requests)
    if "roster" in parts:
        measure_live_roster(bench, section, organizer)
    if "attendance" in parts:
        meeting = _first_meeting(organizer)
        rounds = max(3, requests // 4)
        measure_attendance(section, client, meeting, sizes.attendance_people, rounds)
    section.notes += [
        f"parts run: {', '.join(p for p in PARTS if p in parts)}",
        "create, Meet now, lookup, My meetings, attendance: server time with Django's test "
        "Client in-process; Graph calls go over HTTPS to the run's sandbox, whose answer time "
        "is included; the direct Graph call uses a pooled HTTPS client of its own",
        f"the attendance report holds {sizes.attendance_people} people with two stretches each",
        "roster event to live topic: record_call_event (database write, then publish after "
        "commit) until the message is read back from Redis pub/sub, in-process",
        "roster, live: from just before each join/leave control call to the first roster "
        f"message on a page that shows the change; {SCORED_PAGES} pages have every roster read "
        "back, the others count their messages (each message holds the whole roster); "
        f"join/leave calls {DRIVE_AT_ONCE} in flight at once; every page is signed in as the "
        "organizer",
    ]
    return section


def _first_meeting(organizer: Any) -> Meeting:
    """Return the run's first meeting, scheduling one when no other part made any."""
    first = Meeting.objects.exclude(join_meeting_id="").order_by("pk").first()
    if first is not None:
        return first
    now = timezone.now()
    plan = services.MeetingPlan(
        subject="Bench review",
        start=now - timedelta(hours=2),
        end=now - timedelta(hours=1),
        time_zone="Europe/London",
        invitees=[],
    )
    return services.schedule_meeting(organizer=organizer, plan=plan)


def measure_pages(section: Section, client: Client, tomas: Person, requests: int) -> None:
    """Meet now, lookup, My meetings, and a roster event to the live topic, in-process."""
    _row(
        section,
        "Meet now again, same pair (createOrGet)",
        [
            _timed(client, "POST", "/meetings/meet-now/", {"person": tomas.graph_id})
            for _ in range(requests)
        ],
    )
    meeting = Meeting.objects.exclude(join_meeting_id="").order_by("pk").first()
    assert meeting is not None
    _row(
        section,
        "lookup by meeting ID ($filter)",
        [
            _timed(client, "GET", "/meetings/lookup/", {"q": meeting.join_meeting_id})
            for _ in range(requests)
        ],
    )
    listed = Meeting.objects.count()
    _row(
        section,
        "My meetings page",
        [_timed(client, "GET", "/meetings/") for _ in range(requests)],
        size=listed,
    )
    section.notes.append(f"My meetings lists {listed} meetings")

    # One call event from the handler's service to the meeting's live topic on Redis.
    inbox = TopicInbox(meeting_topic(meeting.pk))
    services.record_call_event(meeting, CallEvent.model_validate({"eventType": "callStarted"}))
    inbox.messages(wait=0.2)
    pushes = []
    for index in range(requests):
        event = CallEvent.model_validate(
            {
                "eventType": "rosterUpdated",
                "participants@delta": [
                    {
                        "id": f"bench-{index}",
                        "isInLobby": False,
                        "info": {"identity": {"user": {"id": tomas.graph_id, "displayName": "T"}}},
                    }
                ],
            }
        )
        started = time.perf_counter()
        services.record_call_event(meeting, event)
        _first_message(inbox)
        pushes.append(time.perf_counter() - started)
    _row(section, "roster event to live topic", pushes, size=f"{requests} in the call")
