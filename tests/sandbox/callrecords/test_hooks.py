"""Ended calls and meetings of other sandbox parts become call records, after Teams' delay."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sandbox import hooks
from sandbox.callrecords.service import (
    CallRecordsArea,
    callrecords_of,
    start_callrecords,
    stop_callrecords,
)
from sandbox.clock import SandboxClock
from sandbox.tenant import build_tenant


def state() -> Any:
    """The parts of a sandbox's state the call-records area reads."""
    return SimpleNamespace(
        tenant=build_tenant(seed=1, users=20),
        clock=SandboxClock(),
        extensions={},
        lock=threading.RLock(),
    )


def person(running: Any, given_name: str) -> str:
    return str(next(u.id for u in running.tenant.users if u.given_name == given_name))


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_an_ended_call_becomes_a_record_written_after_the_documented_delay() -> None:
    running = state()
    priya, tomas = person(running, "Priya"), person(running, "Tomas")
    ended = datetime.now(UTC)
    call = {
        "id": "call-1",
        "callChainId": "9f1e0000-0000-4000-8000-000000000001",
        "source": {"identity": {"user": {"id": priya}}},
        "targets": [{"identity": {"user": {"id": tomas}}}],
        "requestedModalities": ["audio", "video"],
        "startDateTime": iso(ended - timedelta(minutes=12)),
        "endDateTime": iso(ended),
    }

    async def scenario() -> CallRecordsArea:
        await start_callrecords(running)
        try:
            hooks.call_ended(call)
        finally:
            await stop_callrecords(running)
        hooks.call_ended({**call, "callChainId": "after-stop"})  # no one listens any more
        return callrecords_of(running)

    area = asyncio.run(scenario())

    spec = area.specs[call["callChainId"]]
    assert "after-stop" not in area.specs
    assert spec.type == "peerToPeer" and spec.participant_ids() == [priya, tomas]
    assert spec.modalities == ("audio", "video")
    delay = spec.available_at - ended.timestamp()
    assert 5 * 60 <= delay <= 150 * 60
    assert area.visible(spec.id) is None  # not written yet
    area.state.clock.advance(151 * 60)
    assert area.visible(spec.id) is spec


def test_an_ended_meeting_becomes_a_group_call_with_a_session_per_attendance() -> None:
    running = state()
    area = callrecords_of(running)
    grace, aiko, lena = (person(running, name) for name in ("Grace", "Aiko", "Lena"))
    start = datetime.now(UTC) - timedelta(hours=1)

    def interval(begin: int, end: int) -> dict[str, str]:
        return {
            "joinDateTime": iso(start + timedelta(minutes=begin)),
            "leaveDateTime": iso(start + timedelta(minutes=end)),
        }

    meeting = {
        "id": "meeting-1",
        "joinWebUrl": "https://teams.microsoft.com/l/meetup-join/meeting-1/0",
        "participants": {"organizer": {"identity": {"user": {"id": grace}}}},
    }
    attendance = [
        {"identity": {"id": grace}, "attendanceIntervals": [interval(0, 30)]},
        {"identity": {"id": aiko}, "attendanceIntervals": [interval(2, 10), interval(14, 30)]},
        {"identity": {"id": lena}, "attendanceIntervals": [interval(5, 5)]},  # no time: none
        {"identity": {"id": "someone-outside"}, "attendanceIntervals": [interval(0, 30)]},
        {"identity": {}, "attendanceIntervals": [{"joinDateTime": "not a time"}]},
    ]

    spec = area.record_from_meeting(meeting, attendance)

    assert spec is not None and spec.type == "groupCall"
    assert spec.organizer == grace and spec.join_web_url == meeting["joinWebUrl"]
    assert [leg.caller for leg in spec.legs] == [grace, aiko, aiko]
    assert all(leg.callee is None for leg in spec.legs)  # each to the meeting server
    assert area.record_from_meeting(meeting, []) is None
