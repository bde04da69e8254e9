"""Template context about the signed-in person."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest


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
