"""The cast and a renderer for the shell templates, shared by the markup and browser tests."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.test import RequestFactory

from accounts.context_processors import PortalUser

ADELE = PortalUser(
    display_name="Adele Vance", initials="AV", is_portal_admin=False, needs_reauth=False
)
MEGAN = PortalUser(
    display_name="Megan Bowen", initials="MB", is_portal_admin=True, needs_reauth=False
)
LEE = PortalUser(display_name="Lee Gu", initials="LG", is_portal_admin=False, needs_reauth=True)

NAV_TARGETS = {"People": "/people/", "Meetings": "/meetings/", "Events": "/events/"}


def render_page(
    template: str, *, path: str = "/", portal_user: PortalUser | None, **context: Any
) -> str:
    """Render ``template`` as a GET of ``path`` would, with the given person signed in."""
    request = RequestFactory().get(path)
    return render_to_string(template, {"portal_user": portal_user, **context}, request=request)
