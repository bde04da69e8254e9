"""Routes of the presence webhook, mounted under graph/notifications/."""

from __future__ import annotations

from django.urls import URLPattern, path

from presence import webhook_views

app_name = "presence-webhook"

urlpatterns: list[URLPattern] = [
    path("presence", webhook_views.notifications, name="notifications"),
    path("presence/lifecycle", webhook_views.lifecycle, name="lifecycle"),
]
