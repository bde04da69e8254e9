"""Choosing the time zone every page shows times in."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.guards import signed_in
from accounts.models import User
from accounts.time_zones import set_time_zone
from comms_portal import times


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("home")


@never_cache
@signed_in
@require_http_methods(["GET", "POST"])
def time_zone(request: HttpRequest) -> HttpResponse:
    """Show the time-zone choice, or keep the one chosen and go back to the page."""
    if request.method == "GET":
        return render(request, "accounts/time_zone.html", {"next_url": reverse("home")})
    user = request.user
    assert isinstance(user, User)  # guaranteed by signed_in
    try:
        name = set_time_zone(user=user, name=request.POST.get("time_zone", ""))
    except times.UnknownTimeZone as refusal:
        context = {"error": str(refusal), "next_url": _back(request)}
        return render(request, "accounts/time_zone.html", context, status=400)
    messages.success(request, f"Times now show in {times.zone_label(name)}.")
    return HttpResponseRedirect(_back(request))
