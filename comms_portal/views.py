"""Project-wide pages: the home page, the status page and the health report."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.guards import is_portal_admin
from comms_portal.health import current_checked, current_health, report


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Show the home page."""
    return render(request, "home.html")


@never_cache
@require_GET
def system_status(request: HttpRequest) -> HttpResponse:
    """Show people whether each part of the portal works, and what stops when one does not."""
    checked = current_checked()
    parts = report(checked.parts)
    context = {
        "parts": parts,
        "down": [part for part in parts if not part.up],
        "checked_at": checked.at,
        # Error texts name hosts and versions: of use to an admin, and to an attacker.
        "detailed": is_portal_admin(request.user),
    }
    return render(request, "status.html", context)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Report whether each part is up; 503 naming what is down; details for admins only."""
    parts = current_health()
    down = [part.name for part in parts if not part.up]
    # Error texts name hosts, ports and versions: of use to an admin, and to an attacker.
    detailed = is_portal_admin(request.user)
    body = {
        "status": "ok" if not down else "down",
        "down": down,
        "checks": {
            part.name: {"up": part.up, "detail": part.detail} if detailed else {"up": part.up}
            for part in parts
        },
    }
    return JsonResponse(body, status=503 if down else 200)
