"""A page behind the meetings feature's consent, for the incremental-consent test."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from accounts.guards import requires_consent


@requires_consent("meetings")
def meetings_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("meetings for you")


urlpatterns = [
    path("accounts/", include("accounts.urls")),
    path("needs-meetings/", meetings_page),
]
