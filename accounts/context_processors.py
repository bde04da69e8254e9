"""Template context about the signed-in person and the time zone pages are shown in."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.utils import timezone

from comms_portal import times


@dataclass(frozen=True)
class PortalUser:
    """What every page shows of the signed-in person."""

    display_name: str
    initials: str
    is_portal_admin: bool
    needs_reauth: bool


def initials_of(name: str) -> str:
    """Return up to two capital initials of a display name ("Adele Vance" → "AV")."""
    words = [word for word in name.replace(".", " ").split() if word[:1].isalpha()]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:1].upper()
    return (words[0][:1] + words[-1][:1]).upper()


def portal_user(request: HttpRequest) -> dict[str, PortalUser | None]:
    """Expose ``portal_user`` (None when signed out) to every template."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"portal_user": None}
    name = getattr(user, "display_name", "") or user.get_full_name() or user.get_username()
    return {
        "portal_user": PortalUser(
            display_name=name,
            initials=initials_of(name),
            is_portal_admin=bool(getattr(user, "is_portal_admin", False)),
            needs_reauth=bool(getattr(user, "needs_reauth", False)),
        )
    }


@dataclass(frozen=True)
class ReaderTimeZone:
    """The zone a page is shown in, as the page names it, and what its script should do."""

    name: str
    label: str
    # "reload": a signed-in person's zone is not known yet and this GET may be shown again
    # once the browser said it; "remember": tell the server for later pages; "": known.
    detect: str


def time_zone(request: HttpRequest) -> dict[str, ReaderTimeZone]:
    """Expose ``time_zone``, the zone every time on the page is shown in, to every template."""
    name = timezone.get_current_timezone_name()
    zone = getattr(request, "reader_zone", None)
    source = zone.source if zone is not None else "default"
    signed_in = bool(getattr(getattr(request, "user", None), "is_authenticated", False))
    if source == "person":
        detect = ""
    elif signed_in and request.method == "GET":
        detect = "reload"
    else:
        detect = "remember"
    return {"time_zone": ReaderTimeZone(name=name, label=times.zone_label(name), detect=detect)}
