"""The portal's routes plus one page behind each guard, as a plain and as an async view."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path

from accounts.guards import admin_api, admin_required, requires_consent, signed_in, signed_in_api
from comms_portal.urls import urlpatterns as portal_urlpatterns


@signed_in
def signed_in_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("for people signed in")


@signed_in
async def signed_in_page_async(request: HttpRequest) -> HttpResponse:
    return HttpResponse("for people signed in")


@signed_in_api
def signed_in_script(request: HttpRequest) -> HttpResponse:
    return HttpResponse("for people signed in")


@signed_in_api
async def signed_in_script_async(request: HttpRequest) -> HttpResponse:
    return HttpResponse("for people signed in")


@admin_required
def admin_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("for admins")


@admin_required
async def admin_page_async(request: HttpRequest) -> HttpResponse:
    return HttpResponse("for admins")


@admin_api
def admin_script(request: HttpRequest) -> HttpResponse:
    return HttpResponse("for admins")


@admin_api
async def admin_script_async(request: HttpRequest) -> HttpResponse:
    return HttpResponse("for admins")


@requires_consent("meetings")
async def meetings_page_async(request: HttpRequest) -> HttpResponse:
    return HttpResponse("meetings for you")


urlpatterns: list[URLPattern | URLResolver] = [
    *portal_urlpatterns,
    path("guarded/signed-in/sync", signed_in_page),
    path("guarded/signed-in/async", signed_in_page_async),
    path("guarded/signed-in-api/sync", signed_in_script),
    path("guarded/signed-in-api/async", signed_in_script_async),
    path("guarded/admin/sync", admin_page),
    path("guarded/admin/async", admin_page_async),
    path("guarded/admin-api/sync", admin_script),
    path("guarded/admin-api/async", admin_script_async),
    path("guarded/consent/async", meetings_page_async),
]
