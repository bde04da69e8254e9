"""Routes of the meetings pages (mounted at /meetings/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from meetings import views

app_name = "meetings"

urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
]
