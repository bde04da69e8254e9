"""Template filters that describe presence in words (backed by ``presence.display``)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from urllib.parse import quote

from django import template
from django.conf import settings
from django.forms import BoundField
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from accounts.context_processors import initials_of
from comms_portal.routing import LIVE_SOCKET_PATH
from directory.models import Person
from presence import display
from presence.store import PresenceState

register = template.Library()

# Any id the person routes accept; it marks where the real id goes.
_ID_STAND_IN = "__person_id__"


@cache
def _person_route(name: str, urlconf: str, script_prefix: str) -> tuple[str, str]:
    # The URLconf and the script prefix are arguments only so that each has its own entry.
    route = name if ":" in name else f"presence:{name}"
    before, after = reverse(route, urlconf=urlconf, args=[_ID_STAND_IN]).split(_ID_STAND_IN)
    return before, after


@register.filter
def person_url(graph_id: str, name: str = "person") -> str:
    """Render the address of a person route by name (person, favourite, alert, directory:photo)."""
    # A wall page has sixty cards of three links each and reverse() costs about 50 µs a call
    # (some 8 ms a page), so each route is reversed once and the id put in its place.
    before, after = _person_route(name, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
    return before + quote(graph_id, safe="") + after


@register.simple_tag
def live_socket_path() -> str:
    """Render the path of the pages' live socket."""
    return LIVE_SOCKET_PATH


@register.filter
def availability_words(state: PresenceState | None) -> str:
    """Render a person's availability in words ("Do not disturb")."""
    return display.availability_label(state.availability if state else None)


@register.filter
def activity_words(state: PresenceState | None) -> str:
    """Render what a person is doing ("In a call"), or nothing when it adds nothing."""
    if state is None:
        return ""
    return display.activity_label(state.availability, state.activity)


@register.filter
def availability_class(state: PresenceState | None) -> str:
    """Render the badge and icon modifier classes for a person's availability and activity."""
    if state is None:
        return display.availability_class(None)
    return display.presence_classes(state.availability, state.activity)


@register.filter
def work_location_words(state: PresenceState | None) -> str:
    """Render where a person works today, or nothing."""
    return display.work_location_label(state.work_location if state else None)


@register.filter
def since_words(state: PresenceState | None) -> str:
    """Render since when a person has had their availability, in the reader's zone.

    "14:05 (25 min)"; the page names the zone.
    """
    return display.since_text(state.changed_at if state else None, timezone.get_current_timezone())


@register.filter
def since_iso(state: PresenceState | None) -> str:
    """Render when a person's availability last changed, as ISO 8601."""
    return display.epoch_to_iso(state.changed_at if state else None)


@register.filter
def initials(name: str) -> str:
    """Render up to two initials of a name."""
    return initials_of(name)


@register.filter
def since_clock(state: PresenceState | None) -> str:
    """Render the clock time a person's availability last changed ("14:05"), in the page's zone."""
    if state is None or not state.changed_at:
        return ""
    moment = datetime.fromtimestamp(float(state.changed_at), UTC)
    return timezone.localtime(moment).strftime("%H:%M")


@register.simple_tag
def current_time_zone() -> str:
    """Render the name of the time zone the page shows times in."""
    return str(timezone.get_current_timezone_name())


@register.filter
def person_label(person: Person) -> str:
    """Render a name that tells same-named colleagues apart: with the job title when known."""
    if person.job_title:
        return f"{person.display_name}, {person.job_title}"
    return person.display_name


@register.filter
def teams_chat(person: Person) -> str:
    """Render the Teams link that opens a chat with ``person``."""
    return display.teams_link(display.TEAMS_CHAT_URL, person.user_principal_name)


@register.filter
def teams_call(person: Person) -> str:
    """Render the Teams link that calls ``person``."""
    return display.teams_link(display.TEAMS_CALL_URL, person.user_principal_name)


@register.filter
def teams_video_call(person: Person) -> str:
    """Render the Teams link that video-calls ``person``."""
    return display.teams_link(display.TEAMS_VIDEO_CALL_URL, person.user_principal_name)


@register.filter
def email_of(person: Person) -> str:
    """Render the address to copy for ``person``: their mail, else their sign-in name."""
    return person.mail or person.user_principal_name


@register.filter
def described_field(field: BoundField, help_text: str = "") -> SafeString:
    """Render a field's widget described by its help and its errors (ids as _field.html sets)."""
    ids = []
    if help_text:
        ids.append(f"{field.auto_id}_helptext")
    if field.errors:
        ids.append(f"{field.auto_id}_error")
    attrs: dict[str, str | bool] | None = {"aria-describedby": " ".join(ids)} if ids else None
    return SafeString(field.as_widget(attrs=attrs))
