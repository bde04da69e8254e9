"""Routes of the notification intake, mounted under graph/notifications/."""

from __future__ import annotations

from django.urls import URLPattern, path

from comms_portal.notifications import views

app_name = "notifications"

urlpatterns: list[URLPattern] = [
    # Before the kind route: no kind may be named "lifecycle".
    path("lifecycle", views.lifecycle, name="lifecycle"),
    path("<slug:kind>", views.changes, name="intake"),
    path("<slug:kind>/lifecycle", views.lifecycle_of_kind, name="kind-lifecycle"),
]
