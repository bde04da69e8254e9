"""How presence enters the portal: one recording path, the Graph-to-store mapping, watching."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from comms_portal.graph import Presence
from comms_portal.redis_client import get_redis
from presence import alerts, store, watchlist
from presence.store import PresenceChange, PresenceState
from presence.topics import publish_presences

logger = logging.getLogger(__name__)

# Coverage is reconsidered at most this often when new people come into view.
COVERAGE_DEBOUNCE_KEY = "portal:presence:coverage-requested"
COVERAGE_DEBOUNCE_SECONDS = 15
# Graph writes a status message that never expires with this year.
NEVER_EXPIRES_YEAR = 9999


def record_presence(states: list[PresenceState]) -> list[PresenceChange]:
    """Store presence updates, drop stale ones, push the real changes to browsers and alerts."""
    changes = store.apply_updates(states)
    publish_presences((change.current.person_id, change.current.as_payload()) for change in changes)
    if changes:
        alerts.on_presence_changed(changes)
    return changes


def _expiry_iso(presence: Presence) -> str | None:
    status = presence.status_message
    expiry = status.expiry_date_time if status else None
    if expiry is None or expiry.date_time.year >= NEVER_EXPIRES_YEAR:
        return None
    moment = expiry.date_time
    if moment.tzinfo is None:
        try:
            zone = ZoneInfo(expiry.time_zone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            # Windows zone names are not IANA names; Graph reports presence times in UTC.
            zone = ZoneInfo("UTC")
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def presence_from_graph(presence: Presence, *, source: str, observed_at: float) -> PresenceState:
    """Map a Graph presence to the stored state, stamped with where and when it was read."""
    status = presence.status_message
    message = (status.message.content if status and status.message else None) or ""
    out_of_office = presence.out_of_office_settings
    location = presence.work_location
    return PresenceState(
        person_id=presence.id,
        availability=presence.availability,
        activity=presence.activity,
        status_message=message.strip(),
        status_message_expires_at=_expiry_iso(presence) if message.strip() else None,
        out_of_office=bool(out_of_office and out_of_office.is_out_of_office),
        out_of_office_message=(out_of_office.message or "") if out_of_office else "",
        work_location=(location.work_location_type or "") if location else "",
        sequence=presence.sequence_number or "",
        observed_at=observed_at,
        source=source,
    )


@dataclass(frozen=True)
class WatchOutcome:
    """What watching some people asks of the worker: read the unknown, extend coverage."""

    to_read: list[str] = field(default_factory=list)
    coverage_needed: bool = False


def watch_people(person_ids: list[str]) -> WatchOutcome:
    """Keep people shown on an open page covered; say who must be read and if coverage grew."""
    ids = [person_id for person_id in dict.fromkeys(person_ids) if person_id]
    if not ids:
        return WatchOutcome()
    newly_watched = watchlist.mark_watched(ids)
    known = store.get_many(ids)
    missing = [person_id for person_id in ids if person_id not in known]
    # Coverage is reconsidered at most every few seconds, however many pages open.
    coverage_needed = bool(newly_watched) and bool(
        get_redis().set(COVERAGE_DEBOUNCE_KEY, "1", nx=True, ex=COVERAGE_DEBOUNCE_SECONDS)
    )
    return WatchOutcome(to_read=missing, coverage_needed=coverage_needed)


def keep_watched(person_ids: list[str]) -> WatchOutcome:
    """Keep people covered and current for a while (a page shows them, routing may call
    them): read at once those the store lacks, and widen the coverage when it must grow."""
    # Imported here: the tasks import the modules that import these services.
    from presence import tasks

    outcome = watch_people(person_ids)
    if outcome.to_read:
        tasks.poll_people.delay(outcome.to_read)
    if outcome.coverage_needed:
        tasks.keep_covered.delay()
    return outcome


def forget_removed_people(sender: object, *, graph_ids: list[str], **_: object) -> None:
    """Drop the stored presence of people the directory removed."""
    store.forget(graph_ids)


def now_utc() -> datetime:
    """Return the current time, timezone-aware."""
    return datetime.now(UTC)
