"""The live roster of a meeting's call: call events applied, and what watching pages are told.

The drain hands meeting call events over in batches (``meetings.handlers``). A meeting's events
of one batch are applied together, in one transaction holding the meeting's row lock, so that
two workers never interleave their reads and writes of one roster; the rows they touch are
read in one query and written in one or two. Pages are then told once per meeting and batch:
who joined, who changed (let in from the lobby, renamed) and who left, numbered by the
meeting's ``roster_version``. A message never carries the whole roster of a big meeting,
except when the call starts or ends (the roster is then empty or nearly so). A page applies
the numbers in order; one that sees a number skipped, or reconnects, reads
``roster_snapshot`` again and applies only what is newer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from comms_portal import live
from comms_portal.graph.meetings import CallEvent, CallParticipant
from comms_portal.round_trips import fetch_together
from directory.models import Person
from meetings.models import Invitee, Meeting, RosterEntry
from meetings.topics import meeting_topic

# How Graph's onlineMeetingRole values read on the page; anyone else is an attendee.
ROLE_WORDS = {"coorganizer": "Co-organizer", "presenter": "Presenter"}
ORGANIZER = "Organizer"
ATTENDEE = "Attendee"

# What the page shows of a participant: a change of any of it is news to the page.
Shown = tuple[str, str, str, bool, datetime]


def _invitations(meeting_id: int) -> QuerySet[Invitee, tuple[str, str]]:
    return Invitee.objects.filter(meeting_id=meeting_id).values_list("graph_id", "role")


def _role_reader(
    meeting: Meeting, people: Iterable[str], invitations: Iterable[tuple[str, str]] | None = None
) -> Callable[[str], str]:
    """Return a function naming the role in ``meeting`` of any of ``people`` (Graph ids): one
    query for the invitees (unless their ``invitations`` were read already), and one for who
    of them is in the organization when that is who may present."""
    if invitations is None:
        invitations = _invitations(meeting.pk)
    invited = {graph_id.lower(): role for graph_id, role in invitations}
    organizer = meeting.organizer_graph_id.lower()
    # allowedPresenters: "everyone", or "organization" (the organizer's tenant, which is the
    # directory); with "roleIsPresenter" or "organizer" only the invitation's roles count.
    presents = meeting.allowed_presenters
    colleagues: set[str] = set()
    if presents == "organization":
        wanted = {graph_id for graph_id in people if graph_id}
        colleagues = {
            graph_id.lower()
            for graph_id in Person.objects.filter(graph_id__in=wanted).values_list(
                "graph_id", flat=True
            )
        }

    def role_of(graph_id: str) -> str:
        key = graph_id.lower()
        if key and key == organizer:
            return ORGANIZER
        named = ROLE_WORDS.get(invited.get(key, ""))
        if named:
            return named
        if presents == "everyone" or (key and key in colleagues):
            return ROLE_WORDS["presenter"]
        return ATTENDEE

    return role_of


def _people_of(events: Sequence[CallEvent]) -> set[str]:
    """Return the Graph ids of everyone the roster changes of ``events`` name."""
    return {
        str(participant.user.get("id") or "")
        for event in events
        for participant in event.participants
    }


def _person(entry: RosterEntry) -> dict[str, object]:
    return {
        "key": entry.participant_id,
        "id": entry.graph_id,
        "name": entry.display_name or "Someone",
        "role": entry.role or ATTENDEE,
        "inLobby": entry.in_lobby,
        "since": entry.joined_at.isoformat(),
    }


def _shown(entry: RosterEntry) -> Shown:
    return (entry.graph_id, entry.display_name, entry.role, entry.in_lobby, entry.joined_at)


def _whole(meeting: Meeting, version: int) -> dict[str, object]:
    entries = list(
        meeting.roster.filter(left_at__isnull=True).order_by(
            "in_lobby", "joined_at", "display_name"
        )
    )
    return {
        "type": "roster",
        "meeting": meeting.pk,
        "version": version,
        "running": meeting.is_running,
        "count": len(entries),
        "people": [_person(entry) for entry in entries],
    }


def roster_snapshot(meeting: Meeting) -> dict[str, object]:
    """Return the whole roster now, with the version it holds at least.

    The version is read before the rows: a change committed between the two reads is in the
    rows and comes again as a message the page applies a second time, which changes nothing
    (joins and leaves are idempotent); read the other way round, a change could be numbered
    as included and yet be missing.
    """
    current = Meeting.objects.filter(pk=meeting.pk).values_list(
        "roster_version", "call_started_at", "call_ended_at"
    )
    found = current.first()
    if found is not None:
        meeting.roster_version, meeting.call_started_at, meeting.call_ended_at = found
    return _whole(meeting, meeting.roster_version)


def _apply_participant(
    rows: dict[str, RosterEntry], meeting: Meeting, participant: CallParticipant, when: datetime
) -> bool:
    """Apply one participant's news to its row (made if new); tell whether it was applied."""
    entry = rows.get(participant.id)
    if entry is not None:
        if entry.event_at > when:
            return False  # older news than what the row holds
        if entry.event_at == when and entry.left_at is not None and not participant.has_left:
            # A join and a leave of the same instant, the leave first: the leave stands,
            # whatever order the notifications took.
            return False
    else:
        entry = rows[participant.id] = RosterEntry(
            meeting=meeting, participant_id=participant.id, joined_at=when, event_at=when
        )
    user = participant.user
    entry.graph_id = str(user.get("id") or entry.graph_id)[:64]
    entry.display_name = str(user.get("displayName") or entry.display_name)[:256]
    if participant.has_left:
        entry.left_at = when
    else:
        if entry.left_at is not None or (entry.in_lobby and not participant.is_in_lobby):
            entry.joined_at = when
        entry.left_at = None
        entry.in_lobby = participant.is_in_lobby
    entry.event_at = when
    return True


_ROW_FIELDS = ["graph_id", "display_name", "role", "in_lobby", "joined_at", "event_at", "left_at"]


def _write(rows: dict[str, RosterEntry], touched: set[str]) -> None:
    """Write the touched rows, new and old, in one INSERT ... ON CONFLICT DO UPDATE.

    ``bulk_update`` would build a CASE of every row for every field: at a few dozen leavers
    a batch, compiling it cost the drain more than all the rest of the batch's work.
    """
    written = [rows[key] for key in touched if key in rows]
    if written:
        RosterEntry.objects.bulk_create(
            written,
            update_conflicts=True,
            unique_fields=["meeting", "participant_id"],
            update_fields=_ROW_FIELDS,
        )
    touched.clear()


def _time_of(event: CallEvent, now: datetime) -> datetime:
    return event.event_date_time or now


def record_call_events(meeting_id: int, events: Sequence[CallEvent]) -> int:
    """Apply a meeting's call events to its call and roster; tell its pages once after commit.

    Graph does not promise the order of notifications, so each change is applied only if it
    is newer than what it would replace (by the event's time); the end state is the same
    whatever the order. Return how many of the events were applied.
    """
    now = timezone.now()
    ordered = sorted(events, key=lambda event: _time_of(event, now))
    keys = {
        participant.id
        for event in ordered
        if event.event_type == "rosterUpdated"
        for participant in event.participants
    }
    # Who joins or changes needs a role, and so the invitations; a batch of leaves does not.
    needs_roles = any(
        not participant.has_left
        for event in ordered
        if event.event_type == "rosterUpdated"
        for participant in event.participants
    )
    applied = 0
    with transaction.atomic():
        # The row lock serialises every writer of this meeting's roster (drain workers that
        # overlap, a retried batch): each reads the rows only once the previous has committed.
        # The lock, the rows and the invitations are asked in one round trip, and run in
        # that order, each read after the lock is held.
        locked, rows, invitations = _read_locked(meeting_id, keys, with_invitations=needs_roles)
        was_running = locked.is_running
        before = {key: _shown(row) for key, row in rows.items() if row.left_at is None}
        touched: set[str] = set()
        role_of: Callable[[str], str] | None = None
        whole = False
        for event in ordered:
            when = _time_of(event, now)
            started, ended = locked.call_started_at, locked.call_ended_at
            if event.event_type == "callStarted":
                if started is not None and started >= when:
                    continue
                locked.call_started_at = when
                # Rows of an earlier call go; joins of this one that came first stay.
                _write(rows, touched)
                locked.roster.filter(event_at__lt=when).delete()
                rows = {key: row for key, row in rows.items() if row.event_at >= when}
                whole = True
            elif event.event_type == "callEnded":
                if ended is not None and ended >= when:
                    continue
                locked.call_ended_at = when
                _write(rows, touched)
                locked.roster.filter(event_at__lte=when).delete()
                rows = {key: row for key, row in rows.items() if row.event_at > when}
                whole = True
            elif event.event_type == "rosterUpdated":
                if ended is not None and ended >= when:
                    continue  # a late change of a call that has ended
                if not locked.is_running:
                    locked.call_started_at = when
                for participant in event.participants:
                    if _apply_participant(rows, locked, participant, when):
                        entry = rows[participant.id]
                        if not participant.has_left:
                            # A leaver's role is not shown: a batch of leaves reads no roles.
                            if role_of is None:
                                role_of = _role_reader(locked, _people_of(ordered), invitations)
                            entry.role = role_of(entry.graph_id)
                        touched.add(participant.id)
            else:
                continue
            applied += 1
        _write(rows, touched)
        after = {key: _shown(row) for key, row in rows.items() if row.left_at is None}
        joined = [key for key in after if key not in before]
        left = [key for key in before if key not in after]
        changed = [key for key in after if key in before and after[key] != before[key]]
        if not (whole or joined or left or changed or locked.is_running != was_running):
            return applied  # nothing a page shows has changed
        locked.roster_version += 1
        present = _save_call(locked)
        if whole:
            message = _whole(locked, locked.roster_version)
        else:
            message = _delta(
                locked,
                joined=[rows[key] for key in joined],
                changed=[rows[key] for key in changed],
                left=left,
                count=present,
            )
        _publish_after_commit(locked, message)
    return applied


def _read_locked(
    meeting_id: int, keys: set[str], *, with_invitations: bool
) -> tuple[Meeting, dict[str, RosterEntry], list[tuple[str, str]] | None]:
    """Lock the meeting and read its rows of ``keys`` (and its invitations if asked).

    Raise ``Meeting.DoesNotExist`` when the meeting is not kept.
    """
    reads: list[QuerySet[Any, Any]] = [Meeting.objects.select_for_update().filter(pk=meeting_id)]
    if keys:
        reads.append(RosterEntry.objects.filter(meeting_id=meeting_id, participant_id__in=keys))
    if with_invitations:
        reads.append(_invitations(meeting_id))
    found = fetch_together(*reads)
    if not found[0]:
        raise Meeting.DoesNotExist(f"no meeting {meeting_id}")
    locked = found[0][0]
    rows = {row.participant_id: row for row in found[1]} if keys else {}
    invitations = found[-1] if with_invitations else None
    return locked, rows, invitations


def _save_call(meeting: Meeting) -> int:
    """Store the meeting's call times and roster version; return how many are present now.

    One round trip: the count rides on the UPDATE's RETURNING, which sees this transaction's
    own roster writes, and no other writer's, since they all wait for the meeting's lock.
    (A count read with the lock's SELECT would be of the snapshot taken before the wait.)
    """
    meeting.updated_at = timezone.now()
    ops = connection.ops
    table, roster = (ops.quote_name(m._meta.db_table) for m in (Meeting, RosterEntry))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET call_started_at = %s, call_ended_at = %s, "  # noqa: S608
            f"roster_version = %s, updated_at = %s WHERE id = %s RETURNING (SELECT COUNT(*) "
            f"FROM {roster} WHERE meeting_id = %s AND left_at IS NULL)",
            [
                ops.adapt_datetimefield_value(meeting.call_started_at),
                ops.adapt_datetimefield_value(meeting.call_ended_at),
                meeting.roster_version,
                ops.adapt_datetimefield_value(meeting.updated_at),
                meeting.pk,
                meeting.pk,
            ],
        )
        found = cursor.fetchone()
    return int(found[0]) if found else 0


def _delta(
    meeting: Meeting,
    *,
    joined: list[RosterEntry],
    changed: list[RosterEntry],
    left: list[str],
    count: int | None = None,
) -> dict[str, object]:
    if count is None:
        count = meeting.roster.filter(left_at__isnull=True).count()
    return {
        "type": "roster-delta",
        "meeting": meeting.pk,
        "version": meeting.roster_version,
        "running": meeting.is_running,
        "count": count,
        "joined": [_person(entry) for entry in joined],
        "changed": [_person(entry) for entry in changed],
        "left": left,
    }


def _publish_after_commit(meeting: Meeting, message: dict[str, object]) -> None:
    topic = meeting_topic(meeting.pk)
    transaction.on_commit(lambda: live.publish(topic, message))


def refresh_roles(meeting_id: int) -> int:
    """Give the people in the call their roles after the invitation changed; tell the pages
    of those whose role it changed. Return how many changed."""
    with transaction.atomic():
        locked = Meeting.objects.select_for_update().filter(pk=meeting_id).first()
        if locked is None:
            return 0
        present = list(locked.roster.filter(left_at__isnull=True))
        role_of = _role_reader(locked, [entry.graph_id for entry in present])
        changed = []
        for entry in present:
            role = role_of(entry.graph_id)
            if role != entry.role:
                entry.role = role
                changed.append(entry)
        if not changed:
            return 0
        RosterEntry.objects.bulk_update(changed, ["role"])
        locked.roster_version += 1
        locked.save(update_fields=["roster_version", "updated_at"])
        _publish_after_commit(locked, _delta(locked, joined=[], changed=changed, left=[]))
    return len(changed)
