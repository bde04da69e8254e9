"""Project-wide pages: the home page and the health report."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from comms_portal.health import check_all


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Show the home page."""
    return render(request, "home.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Report the state of each part; 503 naming what is down."""
    parts = check_all()
    down = [part.name for part in parts if not part.up]
    body = {
        "status": "ok" if not down else "down",
        "down": down,
        "checks": {part.name: {"up": part.up, "detail": part.detail} for part in parts},
    }
    return JsonResponse(body, status=503 if down else 200)
