"""The call-records area of a running sandbox: the records, the ordinary day, the publisher.

Teams writes a call record after the call ends: "within 30 minutes of the call ending" for
most, "up to 150 minutes" at worst (https://learn.microsoft.com/graph/callrecords-api-overview
and the change-notifications overview's latency table), keeps it 30 days, and may write later
versions. The area holds every record as a compact :class:`RecordSpec`; a record is visible
(listed, readable, notified) once the sandbox clock passes its availability, so the delay
scales with the sandbox clock like everything else. A fresh sandbox holds the tenant's last
30 days of ordinary working days, the same for the same seed.
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import logging
import random
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sandbox import hooks
from sandbox.callrecords.generator import (
    Leg,
    Member,
    RecordSpec,
    iso,
    record_id,
    render_sessions,
    usual_condition,
)
from sandbox.graph.odata_types import parse_graph_datetime
from sandbox.loops import start_loop, stop_loop
from sandbox.notifications import publish

if TYPE_CHECKING:
    from sandbox.state import SandboxState

logger = logging.getLogger(__name__)

RETENTION_SECONDS = 30 * 86_400
DAY = 86_400
TICK_SECONDS = 0.2
# Rendered records kept for their next pages and reads; a few hundred hold some megabytes.
RENDERED_KEPT = 256
_AREA_KEY = "callrecords"
DESTINATIONS = (
    ("United Kingdom", "GB", "+4411"),
    ("United States", "US", "+1212"),
    ("Germany", "DE", "+4930"),
    ("France", "FR", "+3314"),
)


def _delay(rng: random.Random) -> float:
    """Seconds from a call's end to its first record: mostly under 30 minutes, at most 150."""
    if rng.random() < 0.9:
        return rng.uniform(5 * 60, 30 * 60)
    return rng.uniform(30 * 60, 150 * 60)


@dataclass
class CallRecordsArea:
    """Every call record, PSTN and direct-routing row of the tenant, and the publisher."""

    state: SandboxState
    members: dict[str, Member]
    specs: dict[str, RecordSpec] = field(default_factory=dict)
    # (start, id) of every spec, sorted, for listing by startDateTime.
    by_start: list[tuple[float, str]] = field(default_factory=list)
    # (due, sequence, id, changeType): notifications to publish once the clock passes due.
    due: list[tuple[float, int, str, str]] = field(default_factory=list)
    generated_days: set[int] = field(default_factory=set)
    pstn_rows: list[dict[str, Any]] = field(default_factory=list)
    direct_routing_rows: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    # The latest records' sessions as rendered, by (id, version): their later pages, and the
    # reads of the same record that follow a notification, do not render them again.
    _rendered: OrderedDict[tuple[str, int], list[dict[str, Any]]] = field(
        default_factory=OrderedDict
    )
    _sequence: int = 0
    _task: asyncio.Task[None] | None = None
    _unhook: list[Any] = field(default_factory=list)

    @property
    def tenant_id(self) -> str:
        return self.state.tenant.tenant_id

    def now(self) -> float:
        return self.state.clock.timestamp()

    # -- adding records ----------------------------------------------------------------

    def add(self, spec: RecordSpec, *, notify: bool = True, late: bool = False) -> RecordSpec:
        """Keep ``spec``; schedule its notifications when they are still to come.

        ``late`` notifies versions already written too (a record made to order just now).
        """
        now = self.now() - (3600.0 if late else 0.0)
        with self.lock:
            if spec.id in self.specs:
                return self.specs[spec.id]
            self.specs[spec.id] = spec
            bisect.insort(self.by_start, (spec.start, spec.id))
            if notify and spec.available_at > now:
                self._schedule(spec.available_at, spec.id, "created")
            if notify and spec.second_version_at is not None and spec.second_version_at > now:
                self._schedule(spec.second_version_at, spec.id, "updated")
        return spec

    def _schedule(self, due: float, graph_id: str, change_type: str) -> None:
        self._sequence += 1
        heapq.heappush(self.due, (due, self._sequence, graph_id, change_type))

    def add_version(self, graph_id: str) -> int:
        """Write a later version of a visible record now and notify it; return the version."""
        with self.lock:
            spec = self.visible(graph_id)
            if spec is None:
                raise KeyError(graph_id)
            spec.extra_versions += 1
            version = spec.version_at(self.now())
            self._schedule(self.now(), graph_id, "updated")
        return version

    def last_modified(self, spec: RecordSpec, now: float) -> float:
        """Return when the visible version was written."""
        moment = spec.available_at
        if spec.second_version_at is not None and now >= spec.second_version_at:
            moment = spec.second_version_at
        return moment + 60 * spec.extra_versions

    # -- reading -----------------------------------------------------------------------

    def visible(self, graph_id: str) -> RecordSpec | None:
        """Return the record if it can be read now: written, and not older than 30 days."""
        now = self.now()
        spec = self.specs.get(graph_id) or self.specs.get(graph_id.lower())
        if spec is None or spec.version_at(now) == 0 or spec.start < now - RETENTION_SECONDS:
            return None
        return spec

    def sessions_of(self, spec: RecordSpec, version: int) -> list[dict[str, Any]]:
        """Return the record's sessions as Graph answers them (rendered once, then kept)."""
        key = (spec.id, version)
        with self.lock:
            found = self._rendered.get(key)
            if found is not None:
                self._rendered.move_to_end(key)
                return found
        sessions = render_sessions(spec, self.members, version)
        with self.lock:
            self._rendered[key] = sessions
            while len(self._rendered) > RENDERED_KEPT:
                self._rendered.popitem(last=False)
        return sessions

    def listed(self, *, after: tuple[float, str] | None, start_from: float | None) -> Any:
        """Yield visible specs in (start, id) order, from a cursor or a start time."""
        now = self.now()
        floor = max(now - RETENTION_SECONDS, start_from if start_from is not None else 0.0)
        with self.lock:
            index = bisect.bisect_left(self.by_start, (floor, ""))
            if after is not None:
                index = max(index, bisect.bisect_right(self.by_start, after))
            snapshot = self.by_start[index:]
        for _, graph_id in snapshot:
            spec = self.specs.get(graph_id)
            if spec is not None and spec.version_at(now) > 0:
                yield spec

    # -- the ordinary working day ------------------------------------------------------

    def people(self) -> list[Member]:
        return [member for member in self.members.values() if member.user_principal_name]

    def ensure_days(self) -> None:
        """Make the records of every day of the last 30 up to today, once each."""
        now = self.now()
        today = int(now // DAY)
        for day in range(today - 30, today + 1):
            if day not in self.generated_days:
                self.generated_days.add(day)
                self._make_day(day)

    def _make_day(self, day: int) -> None:
        moment = datetime.fromtimestamp(day * DAY, tz=UTC)
        if moment.weekday() >= 5:
            return
        rng = random.Random(f"{self.tenant_id}:callrecords:{moment.date().isoformat()}")
        people = self.people()
        if len(people) < 2:
            return
        # About one record a person a working day, up to a large office's worth; bigger
        # tenants get their volume from the control API's bulk generation.
        count = max(4, min(len(people), 300))
        for number in range(count):
            start = day * DAY + rng.uniform(8.5 * 3600, 17 * 3600)
            if rng.random() < 0.55:
                chosen = rng.sample(people, 2)
                minutes = rng.uniform(3, 40)
                modalities: tuple[str, ...] = (
                    ("audio", "video") if rng.random() < 0.4 else ("audio",)
                )
                self.add(self._spec(rng, f"{day}:{number}", "peerToPeer", chosen, start,
                                    minutes, modalities, None), notify=True)  # fmt: skip
            else:
                size = rng.randint(3, min(8, len(people)))
                chosen = rng.sample(people, size)
                minutes = rng.choice((15, 30, 30, 45, 60))
                modalities = ("audio", "video")
                if rng.random() < 0.4:
                    modalities = ("audio", "video", "videoBasedScreenSharing")
                url = f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{day}{number}%40thread.v2/0"
                self.add(self._spec(rng, f"{day}:{number}", "groupCall", chosen, start,
                                    minutes, modalities, url), notify=True)  # fmt: skip
        self._make_pstn_day(day, rng, people)

    def _spec(
        self,
        rng: random.Random,
        key: str,
        kind: str,
        chosen: list[Member],
        start: float,
        minutes: float,
        modalities: tuple[str, ...],
        join_web_url: str | None,
        *,
        conditions: dict[str, str] | None = None,
    ) -> RecordSpec:
        end = start + minutes * 60
        forced = conditions or {}

        def condition(member: Member) -> str:
            return forced.get(member.id) or usual_condition(member, rng)

        legs: tuple[Leg, ...]
        if kind == "peerToPeer":
            legs = (Leg(chosen[0].id, chosen[1].id, start, end, condition(chosen[0]),
                        condition(chosen[1])),)  # fmt: skip
        else:
            legs = tuple(
                Leg(
                    member.id,
                    None,
                    start + rng.uniform(0, 120),
                    end - rng.uniform(0, 120),
                    condition(member),
                    "wired",
                )
                for member in chosen
            )
        available = end + _delay(rng)
        second = available + rng.uniform(20 * 60, 90 * 60) if rng.random() < 0.25 else None
        return RecordSpec(
            id=record_id(f"{self.tenant_id}:{key}"),
            seed=rng.randint(0, 2**31),
            type=kind,
            start=start,
            end=end,
            organizer=chosen[0].id,
            modalities=modalities,
            join_web_url=join_web_url,
            legs=legs,
            available_at=available,
            second_version_at=second,
        )

    def _make_pstn_day(self, day: int, rng: random.Random, people: list[Member]) -> None:
        for number in range(rng.randint(3, 9)):
            person = rng.choice(people)
            start = day * DAY + rng.uniform(8.5 * 3600, 17.5 * 3600)
            seconds = rng.randint(20, 1800)
            outbound = rng.random() < 0.6
            name, country, prefix = rng.choice(DESTINATIONS)
            number_text = f"{prefix}{rng.randint(1000000, 9999999)}"
            own = f"+4411{rng.randint(1000000, 9999999)}"
            self.pstn_rows.append(
                {
                    "id": record_id(f"{self.tenant_id}:pstn:{day}:{number}"),
                    "callId": f"{rng.randint(10**9, 2 * 10**9)}_{number}@192.0.2.7",
                    "userId": person.id,
                    "userPrincipalName": person.user_principal_name,
                    "userDisplayName": person.display_name,
                    "startDateTime": iso(start),
                    "endDateTime": iso(start + seconds),
                    "duration": seconds,
                    "charge": round(seconds / 60 * 0.02, 2) if outbound else 0.0,
                    "callType": "user_out" if outbound else "user_in",
                    "currency": "GBP",
                    "calleeNumber": number_text if outbound else own,
                    "usageCountryCode": "GB",
                    "tenantCountryCode": "GB",
                    "connectionCharge": 0.0,
                    "callerNumber": own if outbound else number_text,
                    "destinationContext": None,
                    "destinationName": name if outbound else "United Kingdom",
                    "conferenceId": None,
                    "licenseCapability": "MCOPSTNU",
                    "inventoryType": "Subscriber",
                    "operator": "Microsoft",
                    "callDurationSource": "microsoft",
                    "_start": start,
                    "_country": country,
                }
            )
        for number in range(rng.randint(1, 4)):
            person = rng.choice(people)
            start = day * DAY + rng.uniform(8.5 * 3600, 17.5 * 3600)
            seconds = rng.randint(10, 900)
            success = rng.random() < 0.92
            self.direct_routing_rows.append(
                {
                    "id": record_id(f"{self.tenant_id}:direct:{day}:{number}"),
                    "correlationId": record_id(f"{self.tenant_id}:direct-corr:{day}:{number}"),
                    "userId": person.id,
                    "userPrincipalName": person.user_principal_name,
                    "userDisplayName": person.display_name,
                    "startDateTime": iso(start),
                    "inviteDateTime": iso(start - 3),
                    "failureDateTime": "0001-01-01T00:00:00Z" if success else iso(start),
                    "endDateTime": iso(start + seconds),
                    "duration": seconds if success else 0,
                    "callType": rng.choice(("ByotIn", "ByotOut")),
                    "successfulCall": success,
                    "callerNumber": f"+4411{rng.randint(100, 999)}***",
                    "calleeNumber": f"+4420{rng.randint(100, 999)}***",
                    "mediaPathLocation": "EUWE",
                    "signalingLocation": "EUNO",
                    "finalSipCode": 0 if success else 487,
                    "callEndSubReason": 540000 if success else 10,
                    "finalSipCodePhrase": "BYE" if success else "Request Terminated",
                    "trunkFullyQualifiedDomainName": "sbc01.lumenhall.example",
                    "mediaBypassEnabled": False,
                    "_start": start,
                }
            )

    # -- bulk and hand-made records (control API, hooks) -------------------------------

    def generate_bulk(self, count: int, days: float, seed: int) -> tuple[float, float]:
        """Add ``count`` records already written, spread over the last ``days``; no notices."""
        rng = random.Random(f"{self.tenant_id}:bulk:{seed}")
        people = self.people()
        now = self.now()
        earliest = now - days * DAY
        latest = now - 3 * 3600
        for number in range(count):
            start = rng.uniform(earliest, latest)
            if rng.random() < 0.55:
                chosen = rng.sample(people, 2)
                spec = self._spec(rng, f"bulk:{seed}:{number}", "peerToPeer", chosen, start,
                                  rng.uniform(3, 40), ("audio",), None)  # fmt: skip
            else:
                chosen = rng.sample(people, rng.randint(3, min(6, len(people))))
                spec = self._spec(rng, f"bulk:{seed}:{number}", "groupCall", chosen, start,
                                  30, ("audio", "video"), None)  # fmt: skip
            spec.available_at = min(spec.available_at, now)
            spec.second_version_at = None
            self.add(spec, notify=False)
        return earliest, latest

    def make_record(
        self,
        *,
        participants: list[str],
        start: float,
        minutes: float,
        kind: str,
        modalities: tuple[str, ...],
        conditions: dict[str, str],
        guests: int,
        available_at: float,
        second_version_at: float | None,
        key: str,
    ) -> RecordSpec:
        """Add one record made to order (tests and the hooks)."""
        rng = random.Random(f"{self.tenant_id}:made:{key}")
        chosen = [self.members[p] for p in participants]
        spec = self._spec(
            rng,
            f"made:{key}",
            kind,
            chosen,
            start,
            minutes,
            modalities,
            None if kind == "peerToPeer" else f"https://teams.microsoft.com/l/meetup-join/{key}/0",
            conditions=conditions,
        )
        extra_legs = []
        for number in range(guests):
            guest_id = record_id(f"{spec.id}:guest:{number}")
            spec.guests[guest_id] = f"Guest {number + 1}"
            extra_legs.append(Leg(guest_id, None, start, start + minutes * 60, "wifi-5", "wired"))
        spec.legs = spec.legs + tuple(extra_legs)
        spec.available_at = available_at
        spec.second_version_at = second_version_at
        return self.add(spec, late=True)

    def record_from_call(self, call: dict[str, Any]) -> RecordSpec | None:
        """Turn an ended call of the calls part into a record written after the usual delay.

        The record names the tenant's people who were in the call (``participants``; a call
        dict without them falls back on its source and targets). Bots, phone numbers and a
        call nobody took leave no record of their own here: two people at least must talk.
        A call with several targets, or one joining a meeting, is a group call.
        """
        holders = call.get("participants")
        if not isinstance(holders, list):
            holders = [call.get("source"), *(call.get("targets") or [])]
        ids = [_identity_user_id(holder) for holder in holders]
        known = {member_id.lower(): member_id for member_id in self.members}
        people = list(
            dict.fromkeys(known[one.lower()] for one in ids if one and one.lower() in known)
        )
        if len(people) < 2:
            return None
        start, end = _times(call, self.now())
        rng = random.Random(f"{self.tenant_id}:call:{call.get('id')}")
        modalities = tuple(
            m for m in call.get("requestedModalities") or ["audio"] if m in ("audio", "video")
        ) or ("audio",)
        chosen = [self.members[p] for p in people]
        group = bool(call.get("meetingInfo")) or len(call.get("targets") or []) > 1
        kind = "groupCall" if group or len(chosen) > 2 else "peerToPeer"
        spec = self._spec(rng, f"call:{call.get('id')}", kind, chosen, start,
                          max((end - start) / 60, 0.1), modalities, None)  # fmt: skip
        spec.id = str(call.get("callChainId") or spec.id)
        return self.add(spec)

    def record_from_meeting(
        self, meeting: dict[str, Any], attendance: list[dict[str, Any]]
    ) -> RecordSpec | None:
        """Turn an ended meeting and its attendance into a group-call record."""
        rng = random.Random(f"{self.tenant_id}:meeting:{meeting.get('id')}")
        legs: list[Leg] = []
        for attendee in attendance:
            identity = attendee.get("identity") or {}
            person = str(identity.get("id") or "")
            if person not in self.members:
                continue
            member = self.members[person]
            condition = usual_condition(member, rng)
            for interval in attendee.get("attendanceIntervals") or []:
                try:
                    joined = parse_graph_datetime(str(interval["joinDateTime"])).timestamp()
                    left = parse_graph_datetime(str(interval["leaveDateTime"])).timestamp()
                except (KeyError, ValueError):
                    continue
                if left > joined:
                    legs.append(Leg(person, None, joined, left, condition, "wired"))
        if not legs:
            return None
        organizer = _identity_user_id((meeting.get("participants") or {}).get("organizer"))
        start = min(leg.start for leg in legs)
        end = max(leg.end for leg in legs)
        available = end + _delay(rng)
        spec = RecordSpec(
            id=record_id(f"{self.tenant_id}:meeting:{meeting.get('id')}:{start}"),
            seed=rng.randint(0, 2**31),
            type="groupCall",
            start=start,
            end=end,
            organizer=organizer if organizer in self.members else legs[0].caller,
            modalities=("audio", "video"),
            join_web_url=meeting.get("joinWebUrl"),
            legs=tuple(legs),
            available_at=available,
        )
        return self.add(spec)

    # -- the loop ----------------------------------------------------------------------

    def publish_due(self) -> int:
        """Publish every notification whose moment has come; return how many."""
        now = self.now()
        ready: list[tuple[str, str]] = []
        with self.lock:
            while self.due and self.due[0][0] <= now:
                _, _, graph_id, change_type = heapq.heappop(self.due)
                ready.append((graph_id, change_type))
        for graph_id, change_type in ready:
            stub = {
                "@odata.type": "#microsoft.graph.callrecord",
                "@odata.id": f"communications/callRecords/{graph_id}",
                "id": graph_id,
            }
            publish(self.state, f"communications/callRecords/{graph_id}", change_type, stub)
        return len(ready)

    async def run(self) -> None:
        """Make new days and publish records as the sandbox clock reaches them."""
        while True:
            try:
                self.ensure_days()
                self.publish_due()
            except Exception:
                logger.exception("the call-records loop failed a turn")
            await asyncio.sleep(TICK_SECONDS)


def _identity_user_id(holder: Any) -> str | None:
    """Return the user id inside a participantInfo / identitySet, if any."""
    if not isinstance(holder, dict):
        return None
    identity = holder.get("identity", holder)
    if isinstance(identity, dict):
        user = identity.get("user")
        if isinstance(user, dict) and user.get("id"):
            return str(user["id"])
    return None


def _times(call: dict[str, Any], now: float) -> tuple[float, float]:
    try:
        end = parse_graph_datetime(str(call["endDateTime"])).timestamp()
    except (KeyError, ValueError):
        end = now
    try:
        start = parse_graph_datetime(str(call["startDateTime"])).timestamp()
    except (KeyError, ValueError):
        start = end - 60
    return start, max(end, start + 1)


def callrecords_of(state: SandboxState) -> CallRecordsArea:
    """Return the state's call-records area, building it (and 30 days) on first use."""
    area = state.extensions.get(_AREA_KEY)
    if isinstance(area, CallRecordsArea):
        return area
    with state.lock:
        area = state.extensions.get(_AREA_KEY)
        if isinstance(area, CallRecordsArea):
            return area
        members = {
            user.id: Member(
                user.id,
                user.display_name,
                user.user_principal_name,
                user.office_location if user.office_location != "Remote" else None,
                user.tenant_id,
            )
            for user in state.tenant.users
            if not user.is_service_account and user.tenant_id == state.tenant.tenant_id
        }
        area = CallRecordsArea(state=state, members=members)
        area.ensure_days()
        state.extensions[_AREA_KEY] = area
        return area


async def start_callrecords(state: SandboxState) -> None:
    """Build the area, listen to ended calls and meetings, and start the loop."""
    area = callrecords_of(state)

    def call_ended(call: dict[str, Any]) -> None:
        area.record_from_call(call)

    def meeting_ended(meeting: dict[str, Any], attendance: Sequence[dict[str, Any]]) -> None:
        area.record_from_meeting(meeting, list(attendance))

    area._unhook = [hooks.on_call_ended(call_ended), hooks.on_meeting_ended(meeting_ended)]
    start_loop(area, "callrecords")


async def stop_callrecords(state: SandboxState) -> None:
    """Stop the loop and stop listening."""
    area = callrecords_of(state)
    for remove in area._unhook:
        remove()
    area._unhook = []
    await stop_loop(area)


def parse_utc(text: str) -> float:
    """Parse a date or a UTC date-time given to the PSTN functions; raise ValueError."""
    value = text.strip().strip("'")
    if len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()
    if not value.endswith("Z"):
        raise ValueError("the time must be in UTC (ending in Z)")
    return parse_graph_datetime(value).timestamp()


__all__ = ["CallRecordsArea", "callrecords_of", "parse_utc", "timedelta"]
