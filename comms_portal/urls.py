"""URL routes of the portal."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from comms_portal import views
from comms_portal.metrics import views as metrics_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics_views.metrics, name="metrics"),
    path("status/", views.system_status, name="status"),
    path("accounts/", include("accounts.urls")),
    path("admin-portal/", include("accounts.admin_urls")),
    path("directory/", include("directory.urls")),
    path("graph/notifications/", include("comms_portal.notifications.urls")),
    path("people/", include("presence.urls")),
    path("meetings/", include("meetings.urls")),
    path("events/", include("events.urls")),
    path("calls/", include("calls.urls")),
    path("call-quality/", include("callrecords.urls")),
]
