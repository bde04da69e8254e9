"""The events pages: for now, one page saying what is coming."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.guards import signed_in


@signed_in
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Show what Events will offer."""
    return render(request, "events/home.html", {"active_nav": "events"})
