"""The meetings area: its store, the app access policy, running calls and their simulator.

A call starts when its first person joins (or the simulator starts it); each join, admission
and leave is a ``rosterUpdated`` meeting call event, and the end is ``callEnded``. Joining sets
the person's Teams presence to Busy/InAMeeting and leaving gives it back Available, as Teams
does. When a call ends its attendance report is made and ``sandbox.hooks.meeting_ended`` is
told.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sandbox import hooks
from sandbox.loops import start_loop, stop_loop
from sandbox.meetings.model import AttendanceReport, Call, Meeting, Participant
from sandbox.meetings.subscriptions import publish_call_event
from sandbox.presence.service import presence_of, set_teams_session

if TYPE_CHECKING:
    from sandbox.state import SandboxState

logger = logging.getLogger("sandbox.meetings")

_AREA_KEY = "meetings"
TICK_SECONDS = 0.25


class CallError(Exception):
    """A call action that makes no sense now (nobody to admit, a meeting not running)."""


@dataclass
class MeetingsArea:
    """Every meeting of the tenant, the access policy and the simulator switch."""

    state: SandboxState
    meetings: dict[str, Meeting] = field(default_factory=dict)
    # (organizer id, externalId) -> meeting id, for createOrGet
    by_external_id: dict[tuple[str, str], str] = field(default_factory=dict)
    # Application access policy: granted to everyone, or only to these user ids.
    policy_everyone: bool = True
    policy_users: set[str] = field(default_factory=set)
    simulate: bool = False
    _task: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        return self.state.clock.now()

    def policy_allows(self, user_id: str) -> bool:
        """Tell whether the app may act for ``user_id`` (an application access policy)."""
        return self.policy_everyone or user_id.lower() in self.policy_users

    def find(self, meeting_id: str) -> Meeting | None:
        return self.meetings.get(meeting_id)

    def add(self, meeting: Meeting) -> None:
        self.meetings[meeting.id] = meeting
        if meeting.external_id is not None:
            self.by_external_id[(meeting.organizer_id, meeting.external_id)] = meeting.id

    def remove(self, meeting: Meeting) -> None:
        if meeting.call is not None:
            end_call(self, meeting)
        self.meetings.pop(meeting.id, None)
        if meeting.external_id is not None:
            self.by_external_id.pop((meeting.organizer_id, meeting.external_id), None)

    # --- the simulator --------------------------------------------------------------------

    def tick(self) -> None:
        """Start simulated meetings whose time came and play out their plans."""
        now = self.now()
        for meeting in list(self.meetings.values()):
            if not meeting.simulated:
                continue
            if meeting.call is None and not meeting.reports and meeting.start <= now < meeting.end:
                start_call(self, meeting)
                assert meeting.call is not None
                meeting.call.plan = simulated_plan(meeting, now)
            call = meeting.call
            if call is None:
                continue
            while call.plan and call.plan[0][0] <= now and meeting.call is call:
                _, user_id, action = call.plan.pop(0)
                if action == "join":
                    join(self, meeting, user_id)
                elif action == "leave":
                    with contextlib.suppress(CallError):
                        leave(self, meeting, user_id)
                else:
                    end_call(self, meeting)

    async def run(self) -> None:
        while True:
            if self.simulate:
                try:
                    with self.state.lock:
                        self.tick()
                except Exception:  # one bad turn must not stop the simulator
                    logger.exception("meeting simulator turn failed")
            await asyncio.sleep(TICK_SECONDS)


def _stable(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def simulated_plan(meeting: Meeting, now: datetime) -> list[tuple[datetime, str, str]]:
    """Plan a meeting deterministically: the organizer first, others within minutes, a few
    leaving early, everyone gone at the end."""
    length = max(meeting.end - now, timedelta(minutes=1))
    plan: list[tuple[datetime, str, str]] = [(now, meeting.organizer_id, "join")]
    for attendee in meeting.attendees:
        seed = _stable(meeting.id + attendee.user_id)
        if seed % 7 == 0:
            continue  # did not come
        joined = now + min(length / 4, timedelta(minutes=seed % 5, seconds=seed % 50))
        plan.append((joined, attendee.user_id, "join"))
        if seed % 3 == 0:
            plan.append((joined + (meeting.end - joined) * 0.6, attendee.user_id, "leave"))
    plan.append((meeting.end, meeting.organizer_id, "end"))
    plan.sort(key=lambda item: (item[0], item[2] == "end"))
    return plan


def _display_name(area: MeetingsArea, user_id: str) -> str:
    user = area.state.tenant.find_user(user_id)
    return user.display_name if user is not None else user_id


def _set_presence(area: MeetingsArea, user_id: str, in_meeting: bool) -> None:
    presence = presence_of(area.state)
    if presence.store.get(user_id) is None:
        return
    now = presence.now()

    def mutate(person: Any) -> None:
        if in_meeting:
            set_teams_session(person, "Busy", "InAMeeting", now)
        else:
            set_teams_session(person, "Available", "Available", now)

    presence.store.change(user_id, now, mutate)


def _participant_json(
    area: MeetingsArea, participant: Participant, *, left: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "info": {
            "identity": {
                "user": {
                    "id": participant.user_id,
                    "displayName": participant.display_name,
                    "tenantId": area.state.tenant.tenant_id,
                }
            }
        },
        "isInLobby": participant.in_lobby,
        "id": participant.participant_id,
    }
    if left:
        body["removedState"] = {"reason": "Participant has left the meeting call."}
    return body


def start_call(area: MeetingsArea, meeting: Meeting) -> Call:
    """Start the meeting's call (callStarted)."""
    if meeting.call is not None:
        return meeting.call
    meeting.call = Call(started_at=area.now())
    publish_call_event(area.state, meeting, "callStarted", area.now())
    return meeting.call


def join(area: MeetingsArea, meeting: Meeting, user_id: str, *, lobby: bool = False) -> Participant:
    """Bring a person into the call (or its lobby), starting the call if needed."""
    call = start_call(area, meeting)
    existing = call.participant_of(user_id)
    if existing is not None:
        return existing
    participant = Participant(
        participant_id=str(uuid.uuid4()),
        user_id=user_id,
        display_name=_display_name(area, user_id),
        in_lobby=lobby,
        joined_at=area.now(),
    )
    call.participants[participant.participant_id] = participant
    publish_call_event(
        area.state,
        meeting,
        "rosterUpdated",
        area.now(),
        [_participant_json(area, participant, left=False)],
    )
    if not lobby:
        _set_presence(area, user_id, True)
    return participant


def admit(area: MeetingsArea, meeting: Meeting, user_id: str) -> Participant:
    """Let a person in from the lobby."""
    call = meeting.call
    participant = call.participant_of(user_id) if call is not None else None
    if participant is None or not participant.in_lobby:
        raise CallError("That person is not waiting in the lobby.")
    participant.in_lobby = False
    participant.joined_at = area.now()
    publish_call_event(
        area.state,
        meeting,
        "rosterUpdated",
        area.now(),
        [_participant_json(area, participant, left=False)],
    )
    _set_presence(area, user_id, True)
    return participant


def _close(call: Call, participant: Participant, now: datetime) -> None:
    if not participant.in_lobby:
        call.intervals.setdefault(participant.user_id, []).append((participant.joined_at, now))


def leave(area: MeetingsArea, meeting: Meeting, user_id: str) -> None:
    """Take a person out of the call."""
    call = meeting.call
    participant = call.participant_of(user_id) if call is not None else None
    if call is None or participant is None:
        raise CallError("That person is not in the meeting.")
    now = area.now()
    _close(call, participant, now)
    del call.participants[participant.participant_id]
    publish_call_event(
        area.state, meeting, "rosterUpdated", now, [_participant_json(area, participant, left=True)]
    )
    if not participant.in_lobby:
        _set_presence(area, user_id, False)


def end_call(area: MeetingsArea, meeting: Meeting) -> AttendanceReport | None:
    """End the call: everyone leaves, the attendance report is made, callEnded is sent."""
    call = meeting.call
    if call is None:
        return None
    now = area.now()
    for participant in list(call.participants.values()):
        _close(call, participant, now)
        if not participant.in_lobby:
            _set_presence(area, participant.user_id, False)
    call.participants.clear()
    meeting.call = None
    records = {}
    for user_id, intervals in call.intervals.items():
        user = area.state.tenant.find_user(user_id)
        records[user_id] = (
            user.display_name if user else user_id,
            user.user_principal_name if user else "",
            meeting.role_of(user_id),
            list(intervals),
        )
    report = AttendanceReport(id=str(uuid.uuid4()), start=call.started_at, end=now, records=records)
    meeting.reports.append(report)
    publish_call_event(area.state, meeting, "callEnded", now)
    hooks.meeting_ended(meeting.to_graph(), report.records_json())
    return report


def meetings_of(state: SandboxState) -> MeetingsArea:
    """Return the meetings area of ``state``, building it on first use."""
    area = state.extensions.get(_AREA_KEY)
    if isinstance(area, MeetingsArea):
        return area
    with state.lock:
        area = state.extensions.get(_AREA_KEY)
        if not isinstance(area, MeetingsArea):
            area = MeetingsArea(state=state, simulate=presence_of(state).options.simulate)
            state.extensions[_AREA_KEY] = area
        return area


async def start_meetings(state: SandboxState) -> None:
    """Start the simulator's loop; call once from the app's startup."""
    area = meetings_of(state)
    start_loop(area, "meetings")


async def stop_meetings(state: SandboxState) -> None:
    """Stop the loop; call from the app's shutdown."""
    area = meetings_of(state)
    await stop_loop(area)
