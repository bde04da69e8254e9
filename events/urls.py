"""Routes of the events pages (mounted at /events/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from events import views

app_name = "events"

urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
]
