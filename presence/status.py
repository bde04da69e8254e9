"""My status: a person sets their own availability, status message and work location.

Every change goes to Graph as the person (their delegated token), then their presence is
read back and recorded, so every open wall shows it at once.

Graph applies a preferred presence only while the person has at least one presence
session; someone who uses only the portal (no Teams client running) would otherwise show
Offline whatever they chose. So, alongside the preferred presence, the portal holds its own
session (setPresence, sessionId = the portal's client id) for as long as Graph lets a
session last: the chosen duration, at least 5 minutes and at most 4 hours. Resetting the
status ends that session too, so the person's presence is again what their clients say.
A choice longer than 4 hours ("today", "this week") is kept as a hold, and a periodic task
renews the session until the hold runs out.

"Today", "This week" and a chosen "clear at" time are read on the person's own clock (their
time zone): Graph takes durations and UTC times, computed here from that clock.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo

from django.conf import settings

from accounts.graph_clients import graph_for_user
from accounts.models import User
from accounts.token_store import ReauthRequired, TokenUnavailable
from comms_portal.graph import Forbidden, GraphClient, GraphError, NotFound, Throttled
from comms_portal.graph import presence as graph_presence
from comms_portal.redis_client import get_redis
from presence import chosen
from presence.services import presence_from_graph, record_presence

logger = logging.getLogger(__name__)

# What the availability menu offers, as Teams does, and the pair Graph takes for each.
AVAILABILITY_CHOICES: dict[str, tuple[str, str, str]] = {
    "available": ("Available", "Available", "Available"),
    "busy": ("Busy", "Busy", "Busy"),
    "donotdisturb": ("Do not disturb", "DoNotDisturb", "DoNotDisturb"),
    "berightback": ("Be right back", "BeRightBack", "BeRightBack"),
    "away": ("Appear away", "Away", "Away"),
    "offline": ("Appear offline", "Offline", "OffWork"),
}
DURATION_CHOICES: dict[str, str] = {
    "30m": "30 minutes",
    "1h": "1 hour",
    "2h": "2 hours",
    "today": "Today",
    "week": "This week",
}
CLEAR_AFTER_CHOICES: dict[str, str] = {
    "never": "Never",
    "1h": "1 hour",
    "4h": "4 hours",
    "today": "Today",
    "week": "This week",
    "custom": "At a date and time",
}
WORK_LOCATION_CHOICES: dict[str, str] = {
    "office": "In the office",
    "remote": "Remote",
    "clear": "Clear my work location",
}
# Teams caps status notes at 280 characters; Graph refuses longer ones.
STATUS_MESSAGE_MAX_LENGTH = 280

SESSION_MIN = timedelta(minutes=5)
SESSION_MAX = timedelta(hours=4)
_FIXED_DURATIONS = {
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "2h": timedelta(hours=2),
    "4h": timedelta(hours=4),
}


# user id -> epoch seconds until which the portal keeps a presence session for that person.
HOLDS_KEY = "portal:presence-holds"


class StatusChangeFailed(Exception):
    """Graph did not take the change; the message says why in words a person understands."""


def end_of_today(now: datetime, zone: tzinfo) -> datetime:
    """Return the last minute of ``now``'s day on the clock of ``zone`` (23:59:59 there)."""
    local = now.astimezone(zone).replace(hour=23, minute=59, second=59, microsecond=0)
    # Read back through UTC, so a day that changes its offset still ends at 23:59:59 there.
    return local.astimezone(UTC)


def end_of_week(now: datetime, zone: tzinfo) -> datetime:
    """Return the last minute of ``now``'s week on the clock of ``zone`` (weeks end on Sunday)."""
    local = now.astimezone(zone)
    sunday = local + timedelta(days=6 - local.weekday())
    return end_of_today(sunday, zone)


def until(choice: str, now: datetime, zone: tzinfo) -> datetime:
    """Return when a duration choice ("1h", "today", "week", ...) runs out on ``zone``'s clock."""
    if choice in _FIXED_DURATIONS:
        return now + _FIXED_DURATIONS[choice]
    if choice == "today":
        return end_of_today(now, zone)
    if choice == "week":
        return end_of_week(now, zone)
    raise ValueError(f"unknown duration {choice!r}")


def _user_message(error: Exception) -> str:
    if isinstance(error, ReauthRequired):
        return "Your Microsoft sign-in has expired. Sign in again, then try once more."
    if isinstance(error, Throttled):
        wait = f" in {int(error.retry_after)} seconds" if error.retry_after else " in a moment"
        return f"Microsoft Teams is handling too many requests. Try again{wait}."
    if isinstance(error, Forbidden):
        return (
            "Microsoft refused the change: the portal lacks permission to set your presence "
            "(Presence.ReadWrite). Ask your administrator."
        )
    if isinstance(error, TokenUnavailable):
        return "The portal could not get a Microsoft sign-in token just now. Try again shortly."
    return "Microsoft Teams did not take the change. Try again shortly."


def _client_for(user: User) -> GraphClient:
    try:
        return graph_for_user(user.pk)
    except (ReauthRequired, TokenUnavailable) as error:
        raise StatusChangeFailed(_user_message(error)) from error


def _publish_own_presence(client: GraphClient) -> None:
    """Read the person's presence back and record it, so open walls update now."""
    try:
        # https://learn.microsoft.com/graph/api/presence-get
        presence = graph_presence.get_my_presence(client)
    except (GraphError, ReauthRequired, TokenUnavailable) as error:
        # The change itself went through; polling will bring the walls up to date.
        logger.warning("presence read-back after a status change failed: %s", error)
        return
    record_presence([presence_from_graph(presence, source="self", observed_at=time.time())])


def _run(user: User, change: str, operation: Callable[[GraphClient], None]) -> None:
    client = _client_for(user)
    try:
        operation(client)
    except (GraphError, ReauthRequired, TokenUnavailable) as error:
        logger.warning("%s for user %s failed: %s", change, user.pk, error)
        raise StatusChangeFailed(_user_message(error)) from error
    _publish_own_presence(client)


def set_availability(
    *, user: User, choice: str, duration: str, now: datetime, zone: tzinfo
) -> datetime:
    """Show ``choice`` (a key of AVAILABILITY_CHOICES) for ``duration``, as Teams does.

    "Today" and "This week" end on the clock of ``zone``, the person's. Return when it ends.
    """
    _, availability, activity = AVAILABILITY_CHOICES[choice]
    ends_at = until(duration, now, zone)
    expires_in = ends_at - now
    session = min(max(expires_in, SESSION_MIN), SESSION_MAX)

    def operation(client: GraphClient) -> None:
        # https://learn.microsoft.com/graph/api/presence-setpresence
        graph_presence.set_presence(
            client,
            user.object_id,
            session_id=settings.MICROSOFT_CLIENT_ID,
            availability="Available",
            activity="Available",
            expiration=session,
        )
        # https://learn.microsoft.com/graph/api/presence-setuserpreferredpresence
        graph_presence.set_user_preferred_presence(
            client,
            user.object_id,
            availability=availability,
            activity=activity,
            expiration=timedelta(seconds=int(expires_in.total_seconds())),
        )

    _run(user, "set availability", operation)
    chosen.remember_availability(
        user.pk, chosen.ChosenAvailability(choice, duration, ends_at.timestamp())
    )
    if expires_in > SESSION_MAX:
        get_redis().hset(HOLDS_KEY, str(user.pk), str((now + expires_in).timestamp()))
    else:
        get_redis().hdel(HOLDS_KEY, str(user.pk))
    return ends_at


def reset_availability(*, user: User) -> None:
    """Drop the chosen availability and the portal's session; clients decide again."""

    def operation(client: GraphClient) -> None:
        # https://learn.microsoft.com/graph/api/presence-clearuserpreferredpresence
        graph_presence.clear_user_preferred_presence(client, user.object_id)
        # No portal session held (or it expired) is a 404: nothing to end.
        with contextlib.suppress(NotFound):
            # https://learn.microsoft.com/graph/api/presence-clearpresence
            graph_presence.clear_presence(
                client, user.object_id, session_id=settings.MICROSOFT_CLIENT_ID
            )

    _run(user, "reset availability", operation)
    chosen.forget_availability(user.pk)
    get_redis().hdel(HOLDS_KEY, str(user.pk))


def renew_held_sessions(*, now: datetime) -> int:
    """Renew the portal's presence session of everyone whose chosen availability outlasts it.

    Return how many sessions were renewed; holds that ran out or whose owner must sign in
    again are dropped.
    """
    redis = get_redis()
    renewed = 0
    for raw_user_id, raw_until in redis.hgetall(HOLDS_KEY).items():
        user_id = int(raw_user_id)
        remaining = timedelta(seconds=float(raw_until) - now.timestamp())
        user = User.objects.filter(pk=user_id, needs_reauth=False).first()
        if user is None or remaining < SESSION_MIN:
            redis.hdel(HOLDS_KEY, raw_user_id)
            continue
        try:
            # https://learn.microsoft.com/graph/api/presence-setpresence
            graph_presence.set_presence(
                graph_for_user(user.pk),
                user.object_id,
                session_id=settings.MICROSOFT_CLIENT_ID,
                availability="Available",
                activity="Available",
                expiration=min(remaining, SESSION_MAX),
            )
        except ReauthRequired:
            redis.hdel(HOLDS_KEY, raw_user_id)
            continue
        except (GraphError, TokenUnavailable) as error:
            # Kept: the next run tries again well before the current session ends.
            logger.warning("renewing the presence session of user %s failed: %s", user_id, error)
            continue
        renewed += 1
    return renewed


def set_status_message(
    *, user: User, message: str, expires_at: datetime | None, clear_after: str = "never"
) -> None:
    """Set the person's status message, cleared by Graph at ``expires_at`` when given.

    ``clear_after`` (a key of CLEAR_AFTER_CHOICES) is what the person chose, kept to show it.
    """

    def operation(client: GraphClient) -> None:
        # https://learn.microsoft.com/graph/api/presence-setstatusmessage
        # The expiry goes as UTC, which dateTimeTimeZone takes everywhere; the person's zone
        # only decided which moment it is.
        graph_presence.set_status_message(
            client, user.object_id, message=message, expiry=expires_at
        )

    _run(user, "set status message", operation)
    if message:
        expiry = expires_at.timestamp() if expires_at is not None else None
        chosen.remember_message(user.pk, chosen.ChosenMessage(message, clear_after, expiry))
    else:
        chosen.forget_message(user.pk)


def clear_status_message(*, user: User) -> None:
    """Remove the person's status message."""
    set_status_message(user=user, message="", expires_at=None)


def set_work_location(*, user: User, location: str) -> None:
    """Say where the person works today ("office", "remote") or clear it ("clear")."""
    if location not in WORK_LOCATION_CHOICES:
        raise ValueError(f"unknown work location {location!r}")

    def operation(client: GraphClient) -> None:
        if location == "clear":
            # https://learn.microsoft.com/graph/api/presence-clearlocation
            graph_presence.clear_location(client)
        else:
            # https://learn.microsoft.com/graph/api/presence-setmanuallocation
            graph_presence.set_manual_location(client, work_location_type=location)

    _run(user, "set work location", operation)
