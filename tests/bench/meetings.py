"""Meetings: what a person waits for, a big meeting's roster live, and the attendance pages.

* Create: the schedule form posted and the meeting's page rendered, measured inside the process
  with Django's test ``Client`` (the full middleware stack, the database, Redis) against the
  run's sandbox over HTTPS, next to the same Graph call (POST me/onlineMeetings) made directly
  to the sandbox with the organizer's token: the difference is the portal's own overhead.
  Meet now (createOrGet), lookup by meeting ID and My meetings are timed the same way.
* Live roster: a crowd fills and empties a meeting while pages watch it
  (``tests.bench.meeting_roster``, which also runs alone as ``--only meeting-roster``).
* Attendance: a report of many people as a page and as streamed CSV.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from accounts.graph_clients import UserTokens
from accounts.identity import FEATURE_SCOPES, SIGN_IN_SCOPES
from comms_portal.graph.http import build_http_client
from comms_portal.graph.meetings import CallEvent, attendee_json, meeting_body
from comms_portal.graph_settings import portal_graph_settings
from directory.models import Person
from meetings import services
from meetings.models import AttendanceRecord, AttendanceReport, Meeting
from meetings.topics import meeting_topic
from tests.bench import meeting_roster
from tests.bench.harness import BenchEnvironment
from tests.bench.report import Section, percentile, summary_ms
from tests.support.cast import PRIYA, TOMAS
from tests.support.live import TopicInbox
from tests.support.portal_signin import sign_in_person

GOAL_CREATE_OVERHEAD_P95_MS = 50
GOAL_ROSTER_P99_MS = meeting_roster.GOAL_ROSTER_P99_MS
GOAL_ATTENDANCE_P95_MS = 200

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
        meeting_roster.measure_live_roster(bench, section, organizer)
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
        *(meeting_roster.notes() if "roster" in parts else []),
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
