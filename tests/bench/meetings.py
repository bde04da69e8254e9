"""Meetings: what a person waits for, and how the roster and attendance pages hold up.

Measured inside the process with Django's test ``Client`` (the full middleware stack, the
database, Redis) against the run's sandbox over HTTPS, so the Graph rows include the sandbox's
answer: schedule (POST onlineMeetings), Meet now (createOrGet, the same pair again), lookup by
meeting ID ($filter), My meetings with every meeting of the run listed, one meeting call event
from the handler to the live topic on Redis, and an attendance report of the whole tenant as a
page and as streamed CSV.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from accounts.identity import FEATURE_SCOPES, SIGN_IN_SCOPES
from comms_portal.graph.meetings import CallEvent
from directory.models import Person
from meetings import services
from meetings.models import AttendanceRecord, AttendanceReport, Meeting
from meetings.topics import meeting_topic
from tests.bench.harness import BenchEnvironment
from tests.bench.report import Section, summary_ms
from tests.support.cast import PRIYA, TOMAS
from tests.support.live import TopicInbox
from tests.support.portal_signin import sign_in_person

GOAL_P95_MS = 300


def _row(section: Section, what: str, durations: list[float], size: int | str = "") -> None:
    stats = summary_ms(durations)
    section.rows.append(
        {
            "what": what,
            "size": size,
            "requests": stats["count"],
            "p50 ms": stats["p50_ms"],
            "p95 ms": stats["p95_ms"],
            "max ms": stats["max_ms"],
        }
    )
    section.details[what] = stats


def _timed(client: Client, method: str, path: str, data: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    response = client.post(path, data or {}) if method == "POST" else client.get(path, data or {})
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


def run(bench: BenchEnvironment) -> Section:
    """Measure the meetings pages and the roster path at the run's size."""
    section = Section(
        name="meetings",
        title=f"Meetings, server time with Graph on the sandbox (goal: p95 under {GOAL_P95_MS} ms)",
        columns=["what", "size", "requests", "p50 ms", "p95 ms", "max ms"],
    )
    organizer = sign_in_person(PRIYA, scopes=[*SIGN_IN_SCOPES, *FEATURE_SCOPES["meetings"]])
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(organizer)
    tomas = Person.objects.get(user_principal_name=TOMAS)
    requests = bench.sizes.wall_requests
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
    _row(
        section,
        "schedule (POST /meetings/new/)",
        [_timed(client, "POST", "/meetings/new/", form) for _ in range(requests)],
    )
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

    # An attendance report of the whole tenant, each person with two stretches.
    people = list(Person.objects.order_by("pk").values_list("graph_id", "display_name")[:5000])
    start = timezone.now() - timedelta(hours=2)
    report = AttendanceReport.objects.create(
        meeting=meeting,
        graph_id="bench-report",
        started_at=start,
        ended_at=start + timedelta(hours=1),
        participant_count=len(people),
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
        )
        for index, (graph_id, name) in enumerate(people)
    )
    Meeting.objects.filter(pk=meeting.pk).update(reports_synced_at=timezone.now())
    rounds = max(3, requests // 4)
    _row(
        section,
        "attendance page (table + SVG)",
        [
            _timed(client, "GET", f"/meetings/{meeting.pk}/attendance/", {"report": str(report.pk)})
            for _ in range(rounds)
        ],
        size=len(people),
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
    section.notes += [
        "server time: Django's test Client in-process; Graph calls go over HTTPS to the "
        "run's sandbox, whose answer time is included",
        f"My meetings lists {listed} meetings; the attendance report holds {len(people)} "
        "people with two stretches each",
        "roster event to live topic: record_call_event (database write, then publish after "
        "commit) until the message is read back from Redis pub/sub",
    ]
    return section
